"""Every starter runs, prints what its page shows on any machine, and its key assert catches a
plausible bug."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from infralens.cli import run_starter
from infralens.figure_data import differences, read_recording, run_figures
from infralens.paths import output_path
from infralens.project import load_project
from pages import section, soup

PROJECT = load_project(ROOT)
LABS = PROJECT.registry.labs
# Other machines, simulated: other BLAS kernels, one thread, numpy without its AVX code paths.
MACHINES = {
    "this machine": {},
    "OpenBLAS Prescott kernels": {"OPENBLAS_CORETYPE": "Prescott"},
    "OpenBLAS Sandy Bridge kernels": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "one BLAS thread": {"OPENBLAS_NUM_THREADS": "1"},
    "numpy without AVX2/AVX-512": {"NPY_DISABLE_CPU_FEATURES": "X86_V3"},
}
MUTATIONS_DIR = ROOT / "tests" / "mutations"


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


def load_mutations() -> dict[str, list[dict[str, str]]]:
    mutations: dict[str, list[dict[str, str]]] = {}
    for path in sorted(MUTATIONS_DIR.glob("*.yaml")):
        for lab_id, entries in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            mutations.setdefault(lab_id, []).extend(entries)
    return mutations


MUTATIONS = load_mutations()
CASES = [(lab, mutation) for lab in LABS for mutation in MUTATIONS.get(lab.id, [])]


def test_every_lab_has_a_mutation_its_assert_catches():
    assert sorted(MUTATIONS) == sorted(lab.id for lab in LABS)


@pytest.mark.parametrize("lab, mutation", CASES, ids=[f"{lab.id}: {m['bug']}" for lab, m in CASES])
def test_key_assert_catches_a_plausible_bug(lab, mutation, tmp_path: Path):
    source = (ROOT / lab.starter).read_text(encoding="utf-8")
    assert source.count(mutation["replace"]) == 1, f"`{mutation['replace']}` must occur once in {lab.starter}"
    mutant = tmp_path / lab.starter
    mutant.parent.mkdir(parents=True)
    mutant.write_text(source.replace(mutation["replace"], mutation["with"]), encoding="utf-8")
    result = run_starter(tmp_path, lab.starter)
    assert result.returncode != 0, f"{lab.starter} still passes with the bug: {mutation['bug']}"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("AssertionError"), f"the bug should fail an assert, not crash: {last}"
