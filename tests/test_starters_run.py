"""Every starter runs, prints what its page shows on any machine, and its key assert catches a
plausible bug."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ROOT
from infralens.figure_data import differences, read_recording, run_figures
from infralens.paths import output_path
from infralens.planted_bugs import read_planted_bugs, run_planted_bug
from infralens.project import load_project
from infralens.running import run_starter
from pages import section, soup

PROJECT = load_project(ROOT)
LABS = PROJECT.registry.labs
# Other machines, simulated: other BLAS kernels, one thread, numpy without its AVX code paths.
MACHINES = {
    "this machine": {},
    "OpenBLAS Prescott kernels": {"OPENBLAS_CORETYPE": "Prescott"},
    "OpenBLAS Sandy Bridge kernels": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "one BLAS thread": {"OPENBLAS_NUM_THREADS": "1"},
    # numpy 2.4 dispatches to X86_V3, X86_V4, AVX512_ICL and AVX512_SPR: all four off leaves its
    # X86_V2 baseline (disabling X86_V3 alone leaves the AVX-512 paths on where a CPU has them).
    "numpy at its X86_V2 baseline": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
}


def run_everywhere(lab) -> dict[str, str]:
    """What the starter prints on each simulated machine (or its error, if it failed)."""
    def run(settings: dict[str, str]) -> str:
        result = run_starter(ROOT, lab.starter, env={**os.environ, **settings})
        return result.stdout if result.returncode == 0 else f"exit {result.returncode}: {result.stderr}"

    with ThreadPoolExecutor(max_workers=len(MACHINES)) as pool:
        return dict(zip(MACHINES, pool.map(run, MACHINES.values()), strict=False))


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_starter_prints_its_recorded_output_on_every_machine(lab, site):
    recorded = (ROOT / output_path(lab.starter)).read_text(encoding="utf-8")
    printed = run_everywhere(lab)
    differs = {machine: out for machine, out in printed.items() if out != recorded}
    assert not differs, (f"{lab.starter} prints differently on {', '.join(differs)}: print what the lesson "
                         f"needs, not rounding noise (see the authoring page); then `infralens outputs {lab.id}`."
                         f"\n{next(iter(differs.values()))}")
    run_it = section(soup(site, f"/labs/{lab.id}/"), "run-it")
    shown = next(block for block in run_it if "language-text" in block.get("class", []))
    assert shown.find("code").get_text() == recorded


FIGURE_LABS = [lab for lab in LABS if PROJECT.starters[lab.id].figures]


@pytest.mark.parametrize("lab", FIGURE_LABS, ids=[lab.id for lab in FIGURE_LABS])
def test_figure_data_is_the_recorded_data_on_every_machine(lab):
    """A figure can never disagree with its starter, on any machine, at the precision it shows."""
    recorded = read_recording(ROOT, lab)
    assert recorded is not None, f"run `infralens outputs {lab.id}`"
    with ThreadPoolExecutor(max_workers=len(MACHINES)) as pool:
        fresh = dict(zip(MACHINES, pool.map(lambda settings: run_figures(ROOT, lab.starter, {**os.environ, **settings}),
                                            MACHINES.values()), strict=True))
    for machine, tables in fresh.items():
        for figure in PROJECT.starters[lab.id].figures:
            found = differences(figure, recorded["figures"][figure.name], tables[figure.name])
            assert not found, f"on {machine}: {found}; run `infralens outputs {lab.id}` if the starter changed"


def test_simulated_machines_simulate():
    """Each simulated machine really runs other code: numpy dispatches to none of its optional
    instruction sets on the baseline machine."""
    probe = ("from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
             "print(sorted(f for f in __cpu_dispatch__ if __cpu_features__.get(f)))")
    settings = MACHINES["numpy at its X86_V2 baseline"]
    result = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **settings},
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


CASES = [(lab, bug) for lab in LABS
         for bug in read_planted_bugs(ROOT, lab, (ROOT / lab.starter).read_text(encoding="utf-8"))[0]]


@pytest.mark.parametrize("lab, bug", CASES, ids=[f"{lab.id}: {bug.bug}" for lab, bug in CASES])
def test_key_assert_catches_each_planted_bug(lab, bug):
    """The same run as `infralens mutate`: the starter, with the bug, stops on an assert."""
    outcome = run_planted_bug(ROOT, lab, bug)
    assert outcome.caught, f"{lab.starter}: {outcome.detail} ({bug.bug}); see `infralens mutate {lab.id}`"
