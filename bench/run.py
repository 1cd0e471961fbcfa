"""InfraLens benchmark: builds of the real site and of larger copies, figures, and the author loop.

Run with `make bench` (or `.venv/bin/python bench/run.py`). It prints its measurements as it goes
and writes them, with the machine it ran on, to bench/README.md. Every number in that report comes
from the run that wrote it. Synthetic projects of N labs are copies of the real registry entries
and starters (with their recorded output and figure data) under new ids and numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "hooks"))
sys.path.append(str(ROOT))  # for bench.author_edits

from infralens.cache import NoCache  # noqa: E402
from infralens.figure_html import rows_of  # noqa: E402
from infralens.paths import figure_data_path, output_path, planted_bugs_path, recorded_lines_path  # noqa: E402
from infralens.project import load_project  # noqa: E402
from infralens.registry import load_registry, read_registry  # noqa: E402

from bench.author_edits import KINDS, Edit, edit  # noqa: E402
from bench.localhost import fetch, free_port  # noqa: E402

SITE_PARTS = ("labs.yaml", "labs.schema.json", "mkdocs.yml", "docs", "hooks", "overrides", "code")
ENV = {**{k: v for k, v in os.environ.items() if k not in ("INFRALENS_REPO_URL", "INFRALENS_CACHE_DIR",
                                                            "INFRALENS_POLL_SECONDS")},
       "NO_MKDOCS_2_WARNING": "1"}
Stats = dict[str, float]
FIGURE_ELEMENT = re.compile(r'<figure class="il-figure".*?</figure>', re.S)


def stats(values: Sequence[float]) -> Stats:
    """Median and spread of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def shown(values: Stats, unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    """`1.23 s (1.10–1.40, n=5)`."""
    median, low, high = (values[key] * scale for key in ("median", "min", "max"))
    spread = f"{low:.{digits}f}–{high:.{digits}f}, n={values['n']:.0f}" if values["n"] > 1 else "n=1"
    return f"{median:.{digits}f} {unit} ({spread})"


# --- Projects ---------------------------------------------------------------------------------


def copy_site(destination: Path) -> Path:
    """A copy of the real site's sources: what `make build` reads."""
    destination.mkdir(parents=True)
    for part in SITE_PARTS:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, destination / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / part, destination / part)
    return destination


def _letters(number: int) -> str:
    """`number` written in letters a to z, as a spreadsheet names its columns (1 is a, 27 is aa)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def synthetic_project(destination: Path, count: int) -> Path:
    """A copy of the site with `count` labs cycled from the real ones under new ids and numbers.
    Each copy keeps its starter's recorded output and figure data, which stay current: they depend
    on the starter's code, not on the lab's id."""
    destination.mkdir(parents=True)
    for part in SITE_PARTS:
        if part in ("code", "labs.yaml"):
            continue
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, destination / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / part, destination / part)
    registry = load_registry(ROOT)
    real = registry.ordered_labs
    slug = {lab.id: re.sub(r"^lab-\d+-", "", lab.id) for lab in real}
    position = {lab.id: index for index, lab in enumerate(real)}

    def new_id(number: int, source_id: str) -> str:
        return f"lab-{number:04d}-{slug[source_id]}"

    entries = []
    for index in range(count):
        source = real[index % len(real)]
        block = index // len(real) * len(real)
        number = index + 1
        lab_id = new_id(number, source.id)
        starter = f"code/{lab_id}/{Path(source.starter).name}"
        (destination / starter).parent.mkdir(parents=True)
        for path in (source.starter, output_path(source.starter), figure_data_path(source.starter),
                     planted_bugs_path(source.starter), recorded_lines_path(source.starter)):
            if (ROOT / path).is_file():  # name.py, .output.txt, .figures.json, .bugs.yaml, .lines.json
                suffix = path.removeprefix(source.starter.removesuffix(".py"))
                shutil.copy2(ROOT / path, destination / (starter.removesuffix(".py") + suffix))
        # Each lab's interview must be its own (a rule of the check): mark the copy's first line, in
        # letters (a number in prose must be one the program gives, another rule).
        copy = destination / starter
        heading = "# lab:interview\n# "
        marked = copy.read_text(encoding="utf-8").replace(heading, f"{heading}(copy {_letters(number)}) ", 1)
        copy.write_text(marked, encoding="utf-8")
        prerequisites = [new_id(block + position[p] + 1, p) for p in source.prerequisites
                         if block + position[p] < count]
        entries.append({
            "id": lab_id, "number": number, "title": f"{source.title} ({number})", "chapter": source.chapter,
            "handbook": source.handbook_page + (f"#{source.handbook_anchor}" if source.handbook_anchor else ""),
            "starter": starter, "prerequisites": prerequisites, "tags": list(source.tags),
            "reading": [{"title": r.title, "url": r.url, "kind": r.kind, **({"note": r.note} if r.note else {}),
                         **({"numbers": list(r.numbers)} if r.numbers else {})} for r in source.reading],
        })
    data = {
        "chapters": [{"id": c.id, "number": c.number, "title": c.title, "handbook": c.handbook}
                     for c in registry.chapters],
        "labs": entries,
    }
    (destination / "labs.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                           encoding="utf-8")
    # The handbook places figures of the real labs by id: point them at the first copy of each.
    first_copy = {source.id: new_id(index + 1, source.id) for index, source in enumerate(real) if index < count}
    for page in (destination / "docs").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        replaced = re.sub(r"\[\[figure (lab-[^/\]]+)/", lambda m: f"[[figure {first_copy.get(m[1], m[1])}/", text)
        if replaced != text:
            page.write_text(replaced, encoding="utf-8")
    return destination


def figure_counts(project: Path) -> dict[str, int]:
    """Figures the project declares, the labs with one, and the drawings they make (an exploration
    draws one per value of its control)."""
    loaded = load_project(project, cache=NoCache())
    figures = drawings = labs = 0
    for lab_id, tables in loaded.figure_tables.items():
        labs += 1
        for figure in loaded.starters[lab_id].figures:
            figures += 1
            control = figure.control
            rows = rows_of(tables[figure.name])
            drawings += len({repr(row[control.column]) for row in rows}) if control else 1
    return {"figures": figures, "drawings": drawings, "labs": labs}


def figure_drawings(project: Path, lab_id: str, figure: str) -> int:
    loaded = load_project(project, cache=NoCache())
    spec = next(f for f in loaded.starters[lab_id].figures if f.name == figure)
    rows = rows_of(loaded.figure_tables[lab_id][figure])
    return len({repr(row[spec.control.column]) for row in rows}) if spec.control else 1


# --- Builds -----------------------------------------------------------------------------------


def mkdocs_build(project: Path, site: Path, config: str = "mkdocs.yml", env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", config, "-d", str(site)],
                            cwd=project, capture_output=True, check=False, text=True, env={**ENV, **(env or {})})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return elapsed


def timed_build(project: Path, site: Path, cache: Path, record: Path, pages: bool = False) -> dict[str, Any]:
    """A full build with the hooks wrapped by timers (bench/timed_hooks.py), with `cache` as the
    content-addressed cache: an empty folder gives a cold build, a filled one a warm build."""
    config = project / "mkdocs-timed.yml"
    text = (project / "mkdocs.yml").read_text(encoding="utf-8")
    # The plugin's events, wrapped with timers, run from a hooks file in its place.
    if "\n  - infralens\n" not in text:
        raise SystemExit("bench/run.py replaces `  - infralens` under `plugins:` in mkdocs.yml, which is not there")
    timed = text.replace("\n  - infralens\n", "\n") + f"\nhooks:\n  - {BENCH / 'timed_hooks.py'}\n"
    if not config.is_file() or config.read_text(encoding="utf-8") != timed:
        config.write_text(timed, encoding="utf-8")
    env = {"INFRALENS_BENCH_RECORD": str(record), "INFRALENS_HOOKS_DIR": str(project / "hooks"),
           "INFRALENS_CACHE_DIR": str(cache), **({"INFRALENS_BENCH_PAGES": "1"} if pages else {})}
    elapsed = mkdocs_build(project, site, config.name, env)
    return {"wall": elapsed, **json.loads(record.read_text(encoding="utf-8"))}


def baseline_project(project: Path, site: Path, record: dict[str, Any], destination: Path) -> Path:
    """The same pages as static Markdown: what the hooks produced, built with the hooks off.

    Only the MathML step stays (bench/baseline_hooks.py): it is the one piece of work any site
    with offline math needs, whatever generates its pages. Generated files (starter downloads,
    exploration drawings, practice questions) are copied from the built site."""
    shutil.copytree(project / "docs", destination / "docs")
    shutil.copytree(project / "overrides", destination / "overrides")
    for uri, markdown in record["markdown"].items():
        target = destination / "docs" / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(markdown, encoding="utf-8")
    for uri in record["static"]:
        (destination / "docs" / uri).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(site / uri, destination / "docs" / uri)
    config = yaml.safe_load((project / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))
    config.pop("watch", None)
    config["site_url"] = "http://127.0.0.1:8000/"
    config.pop("repo_url", None)
    config["nav"] = record["nav"]
    config["plugins"] = [plugin for plugin in config["plugins"] if plugin != "infralens"]
    config["hooks"] = [str(BENCH / "baseline_hooks.py")]
    (destination / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return destination


def site_bytes(site: Path) -> int:
    return sum(path.stat().st_size for path in site.rglob("*") if path.is_file())


def lab_page_bytes(site: Path) -> int:
    return max(page.stat().st_size for page in site.glob("labs/lab-*/index.html"))


def figure_growth_kb(site: Path) -> float:
    """The most that figures add to what a lab page loads before the learner touches anything, as
    served (gzip): its figures' HTML and SVG, and the figure script every page loads. An
    exploration's other drawings are fetched only on interaction, so they do not count."""
    def gzipped(data: bytes) -> int:
        return len(gzip.compress(data, compresslevel=6))

    script = gzipped((site / "javascripts" / "figures.js").read_bytes())
    added = []
    for page in site.glob("labs/lab-*/index.html"):
        html = page.read_text(encoding="utf-8")
        without = FIGURE_ELEMENT.sub("", html)
        added.append(gzipped(html.encode()) - gzipped(without.encode()))
    return (max(added, default=0) + script) / 1024


def measure_builds(name: str, project: Path, scratch: Path, colds: int, repeats: int,
                   baseline: bool) -> dict[str, Any]:
    """Cold builds (each with an empty cache; the last one's cache is kept), then warm builds, each
    followed by the baseline if asked for."""
    site, warm_cache = scratch / f"site-{name}", scratch / f"cache-{name}"
    cold_runs, hook_free = [], None
    for run in range(colds):
        shutil.rmtree(warm_cache, ignore_errors=True)
        cold_runs.append(timed_build(project, site, warm_cache, scratch / "record.json"))
        log(f"{name}: cold build {run + 1}/{colds}: {cold_runs[-1]['wall']:.2f} s")
    if baseline or not colds:  # the pages for the baseline; or a first build to fill the cache
        first = timed_build(project, site, warm_cache, scratch / "record.json", pages=baseline)
        hook_free = baseline_project(project, site, first, scratch / f"baseline-{name}") if baseline else None
    warm_runs, plain_runs = [], []
    for _ in range(repeats):
        warm_runs.append(timed_build(project, site, warm_cache, scratch / "record.json"))
        if hook_free is not None:  # right after: a burst of load on the machine touches both
            plain_runs.append(mkdocs_build(hook_free, scratch / f"baseline-site-{name}",
                                           env={"INFRALENS_CACHE_DIR": str(warm_cache)}))
        log(f"{name}: warm build {warm_runs[-1]['wall']:.2f} s"
            + (f", baseline {plain_runs[-1]:.2f} s" if plain_runs else ""))
    labs = len(load_registry(project).labs)

    def events(runs: list[dict[str, Any]]) -> dict[str, float]:
        names = sorted({event for run in runs for event in run["events_ms"]})
        return {event: statistics.median(run["events_ms"].get(event, 0.0) for run in runs) for event in names}

    return {
        "name": name, "labs": labs, "cache": str(warm_cache),
        "cold": stats([run["wall"] for run in cold_runs]) if cold_runs else None,
        "warm": stats([run["wall"] for run in warm_runs]),
        "baseline": stats(plain_runs) if plain_runs else None,
        "warm_ratio": stats([w["wall"] / b for w, b in zip(warm_runs, plain_runs, strict=True)])
        if plain_runs else None,
        "cold_ratio": stats([run["wall"] / statistics.median(plain_runs) for run in cold_runs])
        if cold_runs and plain_runs else None,
        "cold_hook_ms_per_lab": stats([run["total_ms"] / labs for run in cold_runs]) if cold_runs else None,
        "warm_hook_ms_per_lab": stats([run["total_ms"] / labs for run in warm_runs]),
        "cold_events": events(cold_runs) if cold_runs else {}, "warm_events": events(warm_runs),
        "cold_draw_ms": stats([run["draw_ms"] for run in cold_runs]) if cold_runs else None,
        "cold_render_ms": stats([run["render_ms"] for run in cold_runs]) if cold_runs else None,
        "cold_wait_ms": stats([run["wait_ms"] for run in cold_runs]) if cold_runs else None,
        "cold_drawn": max((run["drawn"] for run in cold_runs), default=0),
        "warm_draw_ms": stats([run["draw_ms"] for run in warm_runs]),
        "warm_drawn": max(run["drawn"] for run in warm_runs),
        "lab_page_kb": lab_page_bytes(site) / 1024, "site_mb": site_bytes(site) / 2**20,
        "figure_growth_kb": figure_growth_kb(site),
    }


# --- The author loop --------------------------------------------------------------------------


def serve_command() -> list[str]:
    """The arguments `make serve` gives `mkdocs`."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^serve:.*\n(?:\t.*\n)*?\t(?:@)?\$\(BIN\)/mkdocs (serve[^\n]*)$", makefile, re.M)
    if not found:
        raise RuntimeError("no `$(BIN)/mkdocs serve` line in the Makefile's serve target")
    return found[1].split()


def wait_until(condition: Callable[[], object], timeout: float, what: str, pause: float = 0.02) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(pause)


def shows(url: str, text: str) -> bool:
    body = fetch(url)[1]
    return bool(body) and text in body


def livereload_epoch(page: str) -> int:
    """The site version a served page was built at, from the live-reload script MkDocs adds."""
    found = re.search(r"livereload\((\d+), *\d+\)", page)
    if not found:
        raise RuntimeError("the served page has no live-reload script")
    return int(found[1])


def logged(lines: list[tuple[float, str]], start: int, text: str) -> bool:
    return any(text in line for _, line in lines[start:])


def at(lines: list[tuple[float, str]], start: int, text: str, after: float) -> float:
    """When the server first logged `text` after the moment `after`."""
    return next(moment for moment, line in lines[start:] if text in line and moment >= after)


def idle(lines: list[tuple[float, str]], start: int) -> bool:
    """Every rebuild begun since line `start` has ended (a save seen by two polls rebuilds twice)."""
    begun = sum("Building documentation" in line for _, line in lines[start:])
    return begun == sum("Reloading browsers" in line for _, line in lines[start:])


def measure_edit(change: Edit, marker: str, port: int, lines: list[tuple[float, str]]) -> dict[str, float]:
    """Save one edit and time it until the served page shows it, split by the server's log."""
    url = f"http://127.0.0.1:{port}/{change.page}"
    start = len(lines)
    epoch = livereload_epoch(fetch(url)[1])
    saved = time.perf_counter()  # before writing: the kernel can report the save before the write returns
    change.apply(marker)
    # As the browser showing the page does: wait for MkDocs' live-reload answer (a rebuild ended),
    # then load the page again; until it shows the edit.
    while marker not in fetch(url)[1]:
        answer = fetch(f"http://127.0.0.1:{port}/livereload/{epoch}/{start}", timeout=90)[1]
        epoch = int(answer) if answer.strip().isdigit() else epoch
        if time.perf_counter() - saved > 180:
            raise RuntimeError(f"{marker} never showed on {url}")
    visible = time.perf_counter()
    wait_until(functools.partial(logged, lines, start, "Reloading browsers"), 120, "the rebuild to end")
    noticed = at(lines, start, "Detected file changes", saved)
    building = at(lines, start, "Building documentation", noticed)
    done = at(lines, start, "Reloading browsers", building)
    return {"visible": visible - saved, "noticed": noticed - saved, "waited": building - noticed,
            "rebuild": done - building, "reload": max(0.0, visible - done)}  # the log line can be read late


def author_loop(project: Path, cache: Path, edits: int, seed: int) -> dict[str, Any]:
    """Start `make serve`'s command on a free port, then for each kind of edit save it `edits`
    times and time until the served page shows it. The server's log, read as it is written, says
    when the watcher noticed the change, when the rebuild began and when it ended."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mkdocs", *serve_command(), "-a", f"127.0.0.1:{port}"],
                              cwd=project, env={**ENV, "INFRALENS_CACHE_DIR": str(cache)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            lines.append((time.perf_counter(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    jitter = random.Random(seed)
    result: dict[str, Any] = {"edits": {}}
    try:
        wait_until(functools.partial(logged, lines, 0, "Serving on"), 900, "mkdocs serve to start", 0.2)
        served = len(lines)  # the first build logs no "Reloading browsers"
        for kind in KINDS:
            change = edit(project, kind)
            url = f"http://127.0.0.1:{port}/{change.page}"
            wait_until(functools.partial(shows, url, ""), 60, f"{url} to be served", 0.1)
            times = []
            for number in range(edits):
                time.sleep(jitter.uniform(0.4, 0.9))  # a save lands anywhere in the watcher's polling cycle
                wait_until(functools.partial(idle, lines, served), 120, "the server to be idle")
                times.append(measure_edit(change, f"bench-{kind}-{number}-{port}", port, lines))
                log(f"{project.name}: {kind} edit {number + 1}/{edits}: {times[-1]['visible']:.2f} s")
            result["edits"][kind] = {"lab": change.lab.id, "page": change.page, "figure": change.figure,
                                     "runs": times}
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        reader.join(timeout=5)
    text = [line for _, line in lines]
    watching = [re.search(r"Watching for changes: (.*)$", line) for line in text]
    result["watching"] = next((m[1].strip() for m in watching if m), "polling every 0.50 s, as MkDocs does")
    result["warnings"] = [line for line in text if line.startswith(("WARNING", "ERROR"))]
    return result


def rebuild_split(project: Path, site: Path, cache: Path, edits: int) -> dict[str, Any]:
    """The phases of a dirty rebuild after each edit of each kind, measured in one process
    (bench/rebuild_split.py)."""
    result = subprocess.run([sys.executable, str(BENCH / "rebuild_split.py"), str(project), str(site),
                             ",".join(KINDS), str(edits)], cwd=project, capture_output=True, check=False, text=True,
                            env={**ENV, "INFRALENS_CACHE_DIR": str(cache)})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Registry scaling -------------------------------------------------------------------------


def registry_scaling(sizes: tuple[int, ...] = (1000, 5000)) -> dict[int, float]:
    """Seconds to load and check a registry of each size (no cache): linear, not quadratic."""
    times = {}
    with tempfile.TemporaryDirectory(prefix="infralens-registry-") as scratch:
        real = (ROOT / "labs.yaml").read_text(encoding="utf-8")
        entry = real[real.index("  - id: lab-01-"):real.index("\n  - id: lab-02-") + 1]
        for size in sizes:
            project = Path(scratch) / str(size)
            shutil.copytree(ROOT / "docs", project / "docs")
            shutil.copytree(ROOT / "code" / "lab-01-forward-noise-process",
                            project / "code" / "lab-01-forward-noise-process")
            shutil.copy2(ROOT / "labs.schema.json", project / "labs.schema.json")
            entries = "".join(entry.replace("id: lab-01-forward-noise-process", f"id: lab-{n}", 1)
                              .replace("number: 1\n", f"number: {n}\n", 1) for n in range(1, size + 1))
            (project / "labs.yaml").write_text(real[: real.index("labs:\n") + 6] + entries, encoding="utf-8")
            started = time.perf_counter()
            registry, problems = read_registry(project)
            times[size] = time.perf_counter() - started
            assert not problems and len(registry.labs) == size
    return times


# --- The report -------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    import material
    import mkdocs

    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, MkDocs {mkdocs.__version__}, "
            f"Material {getattr(material, '__version__', '9.x')}")


def machine_speed() -> float:
    """Seconds to turn the authoring page into HTML 30 times with Python-Markdown and Pygments, the
    kind of work a build does. This machine's speed was seen to change twofold within an hour
    (a shared host): the same commit's warm build took 2.9 s and then 5.6 s. A report says how fast
    the machine was while it ran, so that runs can be compared."""
    import markdown

    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    started = time.perf_counter()
    for _ in range(30):
        extensions = ["tables", "attr_list", "md_in_html", "pymdownx.highlight", "pymdownx.superfences"]
        markdown.Markdown(extensions=extensions,
                          extension_configs={"pymdownx.highlight": {"linenums": True}}).convert(text)
    return time.perf_counter() - started


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def loop_stats(loop: dict[str, Any], kind: str, key: str = "visible") -> Stats:
    return stats([run[key] for run in loop["edits"][kind]["runs"]])


def split_medians(split: dict[str, Any]) -> dict[str, float]:
    """Median seconds of each phase over the rebuilds of one split, largest first."""
    phases = {phase for run in split["runs"] for phase in run["phases"]}
    medians = {phase: statistics.median(run["phases"].get(phase, 0.0) for run in split["runs"])
               for phase in phases}
    return dict(sorted(medians.items(), key=lambda item: -item[1]))


def targets(results: dict[str, Any]) -> list[str]:
    """Each target of issues 13 and 14 against this run's numbers."""
    site, figures = results["site"], results["figures"]
    lines = ["| Target | Measured | Verdict |", "| --- | --- | --- |"]
    if site["cold"]:
        lines.append(f"| Real site cold build <= 8 s | {shown(site['cold'])} "
                     f"| {verdict(site['cold']['median'] <= 8)} |")
    lines.append(f"| Real site warm build <= 3 s | {shown(site['warm'])} | {verdict(site['warm']['median'] <= 3)} |")
    if site["cold_render_ms"] and site["cold_drawn"]:
        per = site["cold_render_ms"]["median"] / site["cold_drawn"]
        lines.append(f"| Drawing <= 100 ms per figure drawing, cold | {per:.0f} ms ({site['cold_drawn']} drawings, "
                     f"vl-convert's start included) | {verdict(per <= 100)} |")
    if figures["drawings"]:
        per = site["warm_draw_ms"]["median"] / figures["drawings"]
        lines.append(f"| About 0 per drawing, warm (cached by data digest) | {per:.2f} ms, "
                     f"{site['warm_drawn']} drawn | {verdict(site['warm_drawn'] == 0 and per < 5)} |")
    for name, split in results["splits"].items():
        append, retitle = split.get("append"), split.get("retitle")
        if append and retitle:
            appended = max(run.get("drawings drawn", 0) for run in append["runs"])
            expected = results["retitle_drawings"][name]
            redrawn = [run.get("drawings drawn", 0) for run in retitle["runs"]]
            ok = appended == 0 and all(count == expected for count in redrawn)
            lines.append(f"| Saving a starter redraws only its own figures ({name}) | appended line: {appended} "
                         f"drawn; retitled figure: {', '.join(map(str, sorted(set(redrawn))))} drawn per save "
                         f"(the figure has {expected}) | {verdict(ok)} |")
    for name, limit in (("site", 1.0), ("300 labs", 1.5)):
        if name in results["loops"]:
            values = loop_stats(results["loops"][name], "append")
            lines.append(f"| Author loop median <= {limit} s ({name}: appended line, starter page) | {shown(values)} "
                         f"| {verdict(values['median'] <= limit)} |")
    for name, loop in results["loops"].items():
        warnings = loop["warnings"]
        lines.append(f"| `make serve` prints no WARNING ({name}) | {len(warnings)} WARNING/ERROR lines"
                     + (f": {warnings[0][:80]}" if warnings else "") + f" | {verdict(not warnings)} |")
    for row in results["builds"]:
        if row["warm_ratio"]:
            lines.append(f"| Overhead ratio <= 1.03 ({row['name']}) | warm {shown(row['warm_ratio'], '', digits=3)}"
                         + (f", cold {row['cold_ratio']['median']:.3f}" if row["cold_ratio"] else "")
                         + f" | warm {verdict(row['warm_ratio']['median'] <= 1.03)}"
                         + (f", cold {verdict(row['cold_ratio']['median'] <= 1.03)}" if row["cold_ratio"] else "")
                         + " |")
        if row["labs"] >= 300:
            lines.append(f"| Hook cost <= 1 ms per lab ({row['name']}) | warm "
                         f"{row['warm_hook_ms_per_lab']['median']:.2f}"
                         + (f", cold {row['cold_hook_ms_per_lab']['median']:.2f}" if row["cold_hook_ms_per_lab"]
                            else "") + f" | warm {verdict(row['warm_hook_ms_per_lab']['median'] <= 1)} |")
        lines.append(f"| Lab page <= 100 KB ({row['name']}) | {row['lab_page_kb']:.1f} KB "
                     f"| {verdict(row['lab_page_kb'] <= 100)} |")
        lines.append(f"| Figures add <= 60 KB gzipped to a lab page before interaction ({row['name']}) "
                     f"| {row['figure_growth_kb']:.1f} KB (the largest, with the figure script) "
                     f"| {verdict(row['figure_growth_kb'] <= 60)} |")
    return lines


def builds_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| Project | Labs | Cold build | Warm build | Baseline, hooks off | Ratio warm (paired) | Ratio cold "
             "| Hook ms per lab, warm | Hook ms per lab, cold | Largest lab page | Site |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def cell(value: Any, text: Callable[[Any], str]) -> str:
        return text(value) if value else "-"

    for row in rows:
        lines.append(" | ".join([
            f"| {row['name']}", str(row["labs"]), cell(row["cold"], shown), shown(row["warm"]),
            cell(row["baseline"], shown), cell(row["warm_ratio"], lambda v: shown(v, "", digits=3)),
            cell(row["cold_ratio"], lambda v: f"{v['median']:.3f}"), f"{row['warm_hook_ms_per_lab']['median']:.2f}",
            cell(row["cold_hook_ms_per_lab"], lambda v: f"{v['median']:.2f}"), f"{row['lab_page_kb']:.1f} KB",
            f"{row['site_mb']:.1f} MB |"]))
    return lines


def events_tables(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for label in ("cold", "warm"):
        events = sorted({name for row in rows for name in row[f"{label}_events"]})
        if not events:
            continue
        lines += ["", f"Hook time by event, {label} cache (ms, median of the runs):", "",
                  "| Project | " + " | ".join(events) + " |", "| --- | " + " | ".join("---:" for _ in events) + " |"]
        lines += [f"| {row['name']} | " + " | ".join(f"{row[f'{label}_events'].get(e, 0):.0f}" for e in events)
                  + " |" for row in rows if row[f"{label}_events"]]
    return lines


def loop_table(loops: dict[str, Any]) -> list[str]:
    lines = ["| Project | Edit | Page | Saved to shown | Watcher noticed it after | MkDocs then waited "
             "| Rebuild | Page loaded again |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, loop in loops.items():
        for kind, data in loop["edits"].items():
            what = "appended line" if kind == "append" else f"new title of figure `{data['figure']}`"
            lines.append(f"| {name} | {what} | `{data['page']}` | {shown(loop_stats(loop, kind))} | "
                         + " | ".join(shown(loop_stats(loop, kind, key))
                                      for key in ("noticed", "waited", "rebuild", "reload")) + " |")
    return lines


def split_table(splits: dict[str, dict[str, Any]]) -> list[str]:
    columns = [(name, kind) for name, by_kind in splits.items() for kind in by_kind]
    medians = {column: split_medians(splits[column[0]][column[1]]) for column in columns}
    phases = sorted({phase for values in medians.values() for phase in values},
                    key=lambda phase: -max(values.get(phase, 0.0) for values in medians.values()))
    header = " | ".join(f"{name}, {kind}" for name, kind in columns)
    lines = [f"| Phase (ms, median per rebuild) | {header} |", "| --- | " + " | ".join("---:" for _ in columns) + " |"]
    for phase in phases:
        lines.append(f"| {phase} | " + " | ".join(f"{medians[column].get(phase, 0.0) * 1000:.0f}"
                                                  for column in columns) + " |")
    totals = [stats([run["total"] for run in splits[name][kind]["runs"]]) for name, kind in columns]
    cpu = [stats([run["cpu"] for run in splits[name][kind]["runs"]]) for name, kind in columns]
    lines.append("| **Whole rebuild** | " + " | ".join(f"**{t['median'] * 1000:.0f}**" for t in totals) + " |")
    lines.append("| CPU time of the rebuild | " + " | ".join(f"{c['median'] * 1000:.0f}" for c in cpu) + " |")
    return lines


def where_the_time_goes(results: dict[str, Any]) -> list[str]:
    """Sentences built from this run's measurements only."""
    site, figures = results["site"], results["figures"]
    out = ["## Where the time goes", ""]
    if site["cold"]:
        hooks_cold = sum(site["cold_events"].values()) / 1000
        draw = site["cold_draw_ms"]["median"] / 1000
        out.append(
            f"**Builds of the real site.** A cold build (empty cache, as in CI or a fresh clone) took "
            f"{site['cold']['median']:.2f} s (median), {hooks_cold:.2f} s of it in the hooks' events. The build "
            f"spent {draw:.2f} s on the {figures['drawings']} drawings of {figures['figures']} figures, in the "
            f"events and while MkDocs wrote the pages and then the explorations' files: planning them, and waiting "
            f"{site['cold_wait_ms']['median'] / 1000:.2f} s for those still being drawn. vl-convert drew "
            f"{site['cold_drawn']} drawings in {site['cold_render_ms']['median'] / 1000:.2f} s (its start "
            f"included) in a process of its own, while MkDocs read and wrote the pages. A warm build took "
            f"{site['warm']['median']:.2f} s, {sum(site['warm_events'].values()) / 1000:.2f} s of it in the hooks "
            f"(drawing phase {site['warm_draw_ms']['median']:.0f} ms, {site['warm_drawn']} drawn). The same pages "
            f"as static Markdown with the hooks off took {site['baseline']['median']:.2f} s: that part is MkDocs "
            f"and Material, whatever generates the pages.")
        out.append("")
    for name, loop in results["loops"].items():
        split = results["splits"].get(name, {})
        for kind, data in loop["edits"].items():
            keys = ("visible", "noticed", "waited", "rebuild", "reload")
            visible, noticed, waited, rebuild, reload = (loop_stats(loop, kind, key)["median"] for key in keys)
            what = ("Appending a line to the starter" if kind == "append"
                    else f"Retitling figure `{data['figure']}` in the starter")
            page = "its starter page" if kind == "append" else "its lab page"
            text = (f"**Author loop, {name}.** {what} of `{data['lab']}` showed on {page} after {visible:.2f} s "
                    f"(median): the watcher noticed the save after {noticed:.2f} s ({loop['watching']}; "
                    f"MkDocs itself polls every 0.50 s), MkDocs waited {waited:.2f} s "
                    f"for further changes, the rebuild took {rebuild:.2f} s, and loading the page again "
                    f"{reload:.2f} s.")
            if kind in split:
                medians = split_medians(split[kind])
                total = statistics.median(run["total"] for run in split[kind]["runs"])
                ours = sum(value for phase, value in medians.items() if phase.startswith("hooks"))
                top = [f"{phase} {value * 1000:.0f} ms" for phase, value in list(medians.items())[:4]]
                pages = sorted({page for run in split[kind]["runs"] for page in run["pages"]})
                drawn = sorted({run.get("drawings drawn", 0) for run in split[kind]["runs"]})
                text += (f" Measured in one process the same way, a rebuild took {total * 1000:.0f} ms, "
                         f"{ours * 1000:.0f} ms of it in the hooks; the largest phases: {'; '.join(top)}. "
                         f"Pages rebuilt: {', '.join(f'`{p}`' for p in pages) or 'none'}; drawings made per save: "
                         f"{', '.join(map(str, drawn))}.")
            out += [text, ""]
    return out


def render_report(results: dict[str, Any], args: argparse.Namespace) -> str:
    figures = results["figures"]
    lines = [
        "# InfraLens benchmark",
        "",
        f"Measured by `make bench` on {time.strftime('%Y-%m-%d')} in {results['minutes']:.1f} minutes: "
        f"{results['machine']}. Load average (1 min) {results['load'][0]:.2f} at the start and "
        f"{results['load'][1]:.2f} at the end; converting a fixed page to HTML 30 times took "
        f"{results['speed'][0]:.2f} s at the start and {results['speed'][1]:.2f} s at the end "
        "(a slower machine makes every time here longer): "
        "on a shared machine, compare numbers within this run.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "## Builds",
        "",
        f"The real site has {figures['figures']} figures in {figures['labs']} labs, {figures['drawings']} drawings "
        "in all (an exploration draws one per value of its control). Times are median (min–max, number of runs).",
        "",
        *builds_table(results["builds"]),
        *events_tables(results["builds"]),
        "",
        "## Author loop (`make serve`)",
        "",
        *loop_table(results["loops"]),
        "",
        "Each edit (s): " + "; ".join(
            f"{name}, {kind}: " + ", ".join(f"{run['visible']:.2f}" for run in data["runs"])
            for name, loop in results["loops"].items() for kind, data in loop["edits"].items()),
        "",
        "A rebuild after each edit, measured in one process by phase (bench/rebuild_split.py; a phase nested "
        "in another counts only in the inner one):",
        "",
        *split_table(results["splits"]),
        "",
        *where_the_time_goes(results),
        "Registry check without cache (`labs.yaml` parsed, validated and cross-checked): " + ", ".join(
            f"{size:,} labs {seconds:.2f} s ({seconds / size * 1000:.2f} ms per lab)"
            for size, seconds in results["scaling"].items()) + ".",
        "",
        how(args),
    ]
    return "\n".join(lines) + "\n"


def how(args: argparse.Namespace) -> str:
    return f"""## How it is measured

- *Cold build*: `mkdocs build` with an empty cache (INFRALENS_CACHE_DIR), as CI or a fresh clone
  runs it; {args.cold} runs on the real site, {args.synthetic_cold} on each synthetic project. *Warm
  build*: the same with the cache the last cold build filled, {args.repeats} runs on the real site
  ({args.synthetic_repeats} on synthetic projects). On the real site (and synthetic projects named
  with `--baseline-sizes`) each warm build is followed by the *baseline*: the very same pages written
  out as static Markdown and built with the hooks off (only the MathML step stays, as any site with
  offline math needs it). *Ratio warm* is each warm build over the baseline build run right after
  it, so that a burst of load on the machine touches both.
- *Hook time* is the time inside the hook events; the *drawing phase* is every lab's figures noted,
  read from the cache or drawn (waiting for the drawing process included), and *vl-convert* the
  time spent drawing, in the build's process or the drawing process beside it (bench/timed_hooks.py).
- *Figures add … before interaction*: for each lab page, its gzipped size less the same page
  gzipped without its figures, the largest of these plus the gzipped figure script (loaded on
  every page). An exploration's other drawings are fetched only when the learner moves it.
- Synthetic projects are copies of the real labs under new ids, with their recorded output and
  figure data. Copies of one lab draw the same specs, so a cold build of N labs draws the real
  site's drawings once: use the real site's cost per drawing to extrapolate.
- *Author loop*: the Makefile's serve command (`mkdocs {' '.join(serve_command())}`) on a free port
  in a copy of the project with a warm cache; {args.edits} saves of each edit, each at a random
  moment 0.4–0.9 s after the previous rebuild ended, timed until the page shows it as a browser
  would: it waits on MkDocs' live-reload request, answered when a rebuild ends, then loads the
  page again (MkDocs holds page requests while it rebuilds, so polling the page would see it no
  sooner). The appended line is a comment at the end of the first lab's starter, shown on its
  starter page; the new title is in the declaration of the first figure of the first lab with
  figures, shown on its lab page (its drawings are drawn again). The server's log, read as it is
  written, splits each edit into the watcher's delay, MkDocs' wait for further changes and the
  rebuild.
- *Rebuild by phase*: the same edits ({args.split_edits} of each) in one process that builds as
  `mkdocs serve --dirty` does, with timers around MkDocs' steps, the plugins' events and the hooks'
  work.
- Rerun: `make bench` (or `.venv/bin/python bench/run.py --sizes 300 1000` for a larger project;
  `--help` lists the options)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[300], help="synthetic projects (labs)")
    parser.add_argument("--loop-sizes", type=int, nargs="*", default=[300],
                        help="synthetic projects whose author loop is measured (the real site's always is)")
    parser.add_argument("--cold", type=int, default=3, help="cold builds of the real site")
    parser.add_argument("--repeats", type=int, default=5, help="warm and baseline builds of the real site")
    parser.add_argument("--synthetic-cold", type=int, default=1, help="cold builds of each synthetic project")
    parser.add_argument("--synthetic-repeats", type=int, default=1, help="warm builds of each synthetic project")
    parser.add_argument("--edits", type=int, default=5, help="saves of each edit in the author loop")
    parser.add_argument("--split-edits", type=int, default=3, help="saves of each edit in the rebuild split")
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[],
                        help="synthetic projects also built as a hook-free baseline (the real site always is)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    started, load, speed = time.perf_counter(), [os.getloadavg()[0]], [machine_speed()]
    results: dict[str, Any] = {"builds": [], "loops": {}, "splits": {}, "retitle_drawings": {}}
    with tempfile.TemporaryDirectory(prefix="infralens-bench-") as scratch_name:
        scratch = Path(scratch_name)
        projects = [("site", copy_site(scratch / "site-project"), args.cold, args.repeats, True)]
        projects += [(f"{count} labs", synthetic_project(scratch / f"p{count}", count), args.synthetic_cold,
                      args.synthetic_repeats, count in args.loop_sizes) for count in args.sizes]
        results["figures"] = figure_counts(projects[0][1])
        for name, project, colds, repeats, loop in projects:
            row = measure_builds(name, project, scratch, colds, repeats,
                                 baseline=name == "site" or any(name == f"{n} labs" for n in args.baseline_sizes))
            results["builds"].append(row)
            if name == "site":
                results["site"] = row
            if not loop:
                continue
            cache = Path(row["cache"])
            splits = rebuild_split(project, scratch / f"split-{name}", cache, args.split_edits)
            for kind, split in splits.items():
                log(f"{name}: rebuild split, {kind}: " + ", ".join(f"{run['total']:.2f}" for run in split["runs"]))
            results["splits"][name] = splits
            retitle = splits["retitle"]
            results["retitle_drawings"][name] = figure_drawings(project, retitle["lab"], retitle["figure"])
            results["loops"][name] = author_loop(project, cache, args.edits, args.seed)
        results["scaling"] = registry_scaling()
    load.append(os.getloadavg()[0])
    speed.append(machine_speed())
    results.update(machine=machine(), load=load, speed=speed, minutes=(time.perf_counter() - started) / 60)
    report = render_report(results, args)
    print(report)
    if not args.no_write:
        (BENCH / "README.md").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
