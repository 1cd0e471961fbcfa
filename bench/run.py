"""InfraLens benchmark: hook overhead, hook cost per lab, the author loop and page sizes.

Run with `make bench` (or `.venv/bin/python bench/run.py`). It prints a table and writes it,
with the machine it ran on, to bench/README.md. Synthetic projects of N labs are copies of the
real registry entries and starters under new ids and numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "hooks"))

from infralens.registry import load_registry  # noqa: E402
from infralens.paths import output_path  # noqa: E402
from infralens.starter import parse_starter  # noqa: E402

SITE_PARTS = ("labs.schema.json", "mkdocs.yml", "docs", "hooks", "overrides")
ENV = {**{k: v for k, v in os.environ.items() if k != "INFRALENS_REPO_URL"}, "NO_MKDOCS_2_WARNING": "1"}


def synthetic_project(destination: Path, count: int) -> Path:
    """A copy of the site with `count` labs cycled from the real ones under new ids and numbers."""
    destination.mkdir(parents=True)
    for part in SITE_PARTS:
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
        text = (ROOT / source.starter).read_text(encoding="utf-8")
        # Vary the content without moving any line: the explain ranges name line numbers.
        first, rest = text.split("\n", 1)
        closing = '"""' if first.endswith('"""') and len(first) > 6 else ""
        first = f"{first.removesuffix(closing)} Copy {number}.{closing}"
        (destination / starter).write_text(f"{first}\n{rest}", encoding="utf-8")
        shutil.copy2(ROOT / output_path(source.starter), destination / output_path(starter))
        prerequisites = [new_id(block + position[p] + 1, p) for p in source.prerequisites
                         if block + position[p] < count]
        entries.append({
            "id": lab_id, "number": number, "title": f"{source.title} ({number})", "chapter": source.chapter,
            "handbook": source.handbook_page + (f"#{source.handbook_anchor}" if source.handbook_anchor else ""),
            "starter": starter, "prerequisites": prerequisites, "tags": list(source.tags),
            "reading": [{"title": r.title, "url": r.url, "kind": r.kind, **({"note": r.note} if r.note else {})}
                        for r in source.reading],
        })
    data = {
        "chapters": [{"id": c.id, "number": c.number, "title": c.title, "handbook": c.handbook}
                     for c in registry.chapters],
        "labs": entries,
    }
    (destination / "labs.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                           encoding="utf-8")
    return destination


def mkdocs_build(project: Path, site: Path, config: str = "mkdocs.yml", env: dict | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", config, "-d", str(site)],
                            cwd=project, capture_output=True, check=False, text=True, env={**ENV, **(env or {})})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return elapsed


def timed_build(project: Path, site: Path, record: Path) -> tuple[float, dict]:
    """A full build with the hooks wrapped by a timer (bench/timed_hooks.py)."""
    config = project / "mkdocs-timed.yml"
    text = (project / "mkdocs.yml").read_text(encoding="utf-8")
    timed = text.replace("  - hooks/infralens_hooks.py", f"  - {BENCH / 'timed_hooks.py'}")
    if not config.is_file() or config.read_text(encoding="utf-8") != timed:
        config.write_text(timed, encoding="utf-8")  # rewriting it would change what pages depend on
    elapsed = mkdocs_build(project, site, config.name,
                           {"INFRALENS_BENCH_RECORD": str(record), "INFRALENS_HOOKS_DIR": str(project / "hooks")})
    return elapsed, json.loads(record.read_text(encoding="utf-8"))


def baseline_project(project: Path, record: dict, destination: Path) -> Path:
    """The same pages as static Markdown: what the hooks produced, built with the hooks off.

    Only the MathML step stays (bench/baseline_hooks.py): it is the one piece of work any site
    with offline math needs, whatever generates its pages."""
    shutil.copytree(project / "docs", destination / "docs")
    shutil.copytree(project / "overrides", destination / "overrides")
    for uri, markdown in record["markdown"].items():
        target = destination / "docs" / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(markdown, encoding="utf-8")
    for uri in record["static"]:
        (destination / "docs" / uri).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / uri, destination / "docs" / uri)
    config = yaml.safe_load((project / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))
    config.pop("watch", None)
    config["site_url"] = "http://127.0.0.1:8000/"
    config.pop("repo_url", None)
    config["nav"] = record["nav"]
    config["hooks"] = [str(BENCH / "baseline_hooks.py")]
    (destination / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return destination


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return ""


def author_loop(project: Path, edits: int = 5) -> list[float]:
    """Seconds from saving a starter edit to the served lab page showing it, under `make serve`."""
    lab = load_registry(project).ordered_labs[0]
    port = free_port()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    serve_args = re.search(r"^serve:.*\n\t\$\(BIN\)/mkdocs (serve.*)$", makefile, re.M).group(1).split()
    server = subprocess.Popen([sys.executable, "-m", "mkdocs", *serve_args, "-a", f"127.0.0.1:{port}"],
                              cwd=project, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/labs/{lab.id}/"
    try:
        deadline = time.monotonic() + 600
        while lab.title not in fetch(url):
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not come up")
            time.sleep(0.2)
        starter = project / lab.starter
        parsed = parse_starter(starter.read_text(encoding="utf-8"), lab.starter)
        # A code line of the first excerpt without a comment: an edit there shows on the page.
        excerpt_line = next(line for line in parsed.excerpts[0].lines if line.strip() and "#" not in line)
        times = []
        for edit in range(edits):
            time.sleep(1.0)  # let the previous rebuild settle
            marker = f"bench-edit-{edit}"
            text = starter.read_text(encoding="utf-8")
            starter.write_text(re.sub(rf"^{re.escape(excerpt_line)}.*$", f"{excerpt_line}  # {marker}", text,
                                      count=1, flags=re.M), encoding="utf-8")
            saved = time.perf_counter()
            while marker not in fetch(url):
                if time.perf_counter() - saved > 60:
                    raise RuntimeError("edit never showed")
                time.sleep(0.02)
            times.append(time.perf_counter() - saved)
        return times
    finally:
        server.send_signal(2)
        server.wait(timeout=30)


def site_bytes(site: Path) -> int:
    return sum(path.stat().st_size for path in site.rglob("*") if path.is_file())


def lab_page_bytes(site: Path) -> int:
    pages = sorted(site.glob("labs/lab-*/index.html"))
    return max(page.stat().st_size for page in pages)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        cpu = model
    except (OSError, StopIteration):
        pass
    import material
    import mkdocs

    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, MkDocs {mkdocs.__version__}, "
            f"Material {getattr(material, '__version__', '9.x')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300, 1000])
    parser.add_argument("--loop-sizes", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--repeats", type=int, default=3, help="warm and baseline builds per size (best counts)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="infralens-bench-") as scratch:
        scratch_path = Path(scratch)
        for count in args.sizes:
            project = synthetic_project(scratch_path / f"p{count}", count)
            site = scratch_path / f"site{count}"
            cold, cold_record = timed_build(project, site, scratch_path / f"cold{count}.json")
            # Then warm builds (parsed starters and rendered pages come from .cache/) alternating
            # with the baseline, best of several each: the machine is shared and noisy.
            warm_runs, plain_runs = [], []
            for repeat in range(args.repeats):
                warm_runs.append(timed_build(project, site, scratch_path / f"warm{count}-{repeat}.json"))
                if repeat == 0:
                    baseline = baseline_project(project, warm_runs[0][1], scratch_path / f"b{count}")
                plain_runs.append(mkdocs_build(baseline, scratch_path / f"bsite{count}"))
            warm, record = min(warm_runs, key=lambda run: run[0])
            plain = min(plain_runs)
            row = {
                "labs": count, "cold_s": cold, "warm_s": warm, "baseline_s": plain,
                "cold_ratio": cold / plain, "warm_ratio": warm / plain,
                "cold_ms_per_lab": cold_record["total_ms"] / count, "warm_ms_per_lab": record["total_ms"] / count,
                "cold_events": cold_record["events_ms"], "warm_events": record["events_ms"],
                "lab_page_kb": lab_page_bytes(site) / 1024, "site_mb": site_bytes(site) / 2**20,
            }
            if count in args.loop_sizes:
                loop_project = synthetic_project(scratch_path / f"loop{count}", count)
                row["loop_s"] = author_loop(loop_project)
            rows.append(row)
            print(json.dumps(row), flush=True)
    scaling = registry_scaling()
    print(json.dumps(scaling), flush=True)
    report = render_report(rows, scaling, machine())
    print(report)
    if not args.no_write:
        (BENCH / "README.md").write_text(report, encoding="utf-8")


def registry_scaling(sizes: tuple[int, ...] = (1000, 10000)) -> dict[int, float]:
    """Seconds to load and check a registry of each size (no cache): linear, not quadratic."""
    from infralens.registry import read_registry

    times = {}
    with tempfile.TemporaryDirectory(prefix="infralens-registry-") as scratch:
        real = (ROOT / "labs.yaml").read_text(encoding="utf-8")
        entry = real[real.index("  - id: lab-01-"):real.index("\n  - id: lab-02-") + 1]
        for size in sizes:
            project = Path(scratch) / str(size)
            shutil.copytree(ROOT / "docs", project / "docs")
            shutil.copytree(ROOT / "code" / "lab-01-forward-noise-process", project / "code" / "lab-01-forward-noise-process")
            shutil.copy2(ROOT / "labs.schema.json", project / "labs.schema.json")
            entries = "".join(entry.replace("id: lab-01-forward-noise-process", f"id: lab-{n}", 1)
                              .replace("number: 1\n", f"number: {n}\n", 1) for n in range(1, size + 1))
            (project / "labs.yaml").write_text(real[: real.index("labs:\n") + 6] + entries, encoding="utf-8")
            started = time.perf_counter()
            registry, problems = read_registry(project)
            times[size] = time.perf_counter() - started
            assert not problems and len(registry.labs) == size
    return times


def targets(rows: list[dict]) -> list[str]:
    """Each target of the performance issue against this run's numbers."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    by_size = {row["labs"]: row for row in rows}
    lines = ["| Target | Measured | Verdict |", "| --- | --- | --- |"]
    for size in (30, 1000):
        if size in by_size:
            row = by_size[size]
            lines.append(f"| Overhead ratio <= 1.03 at {size} labs | warm {row['warm_ratio']:.3f}, cold "
                         f"{row['cold_ratio']:.3f} | warm {verdict(row['warm_ratio'] <= 1.03)}, "
                         f"cold {verdict(row['cold_ratio'] <= 1.03)} |")
    if 1000 in by_size:
        row = by_size[1000]
        lines.append(f"| Hook cost <= 1 ms per lab at 1000 labs | warm {row['warm_ms_per_lab']:.2f}, cold "
                     f"{row['cold_ms_per_lab']:.2f} | warm {verdict(row['warm_ms_per_lab'] <= 1)}, "
                     f"cold {verdict(row['cold_ms_per_lab'] <= 1)} |")
        lines.append(f"| Lab page <= 100 KB at 1000 labs | {row['lab_page_kb']:.1f} KB | "
                     f"{verdict(row['lab_page_kb'] <= 100)} |")
    if len(rows) > 1:
        per_lab = [row["site_mb"] / row["labs"] for row in rows]
        lines.append("| Site size linear in N | " + ", ".join(f"{v * 1024:.0f} KB per lab" for v in per_lab)
                     + f" | {verdict(max(per_lab[1:]) <= per_lab[0] * 1.1)} |")
    for size, limit in ((30, 1.0), (300, 1.5)):
        if size in by_size and "loop_s" in by_size[size]:
            median = statistics.median(by_size[size]["loop_s"])
            lines.append(f"| Author loop median <= {limit} s at {size} labs | {median:.2f} s | {verdict(median <= limit)} |")
    return lines


def render_report(rows: list[dict], scaling: dict[int, float], machine_text: str) -> str:
    lines = [
        "# InfraLens benchmark",
        "",
        f"Measured by `make bench` on {time.strftime('%Y-%m-%d')}: {machine_text}.",
        "",
        "## Results",
        "",
        "| Labs | Build, cold cache (s) | Build, warm cache (s) | Baseline, hooks off (s) | Ratio cold | Ratio warm "
        "| Hook ms per lab, cold | Hook ms per lab, warm | Author loop median (s) | Lab page (KB) | Site (MB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        loop = f"{statistics.median(row['loop_s']):.2f}" if "loop_s" in row else "-"
        lines.append(f"| {row['labs']} | {row['cold_s']:.2f} | {row['warm_s']:.2f} | {row['baseline_s']:.2f} "
                     f"| {row['cold_ratio']:.3f} | {row['warm_ratio']:.3f} | {row['cold_ms_per_lab']:.2f} "
                     f"| {row['warm_ms_per_lab']:.2f} | {loop} | {row['lab_page_kb']:.1f} | {row['site_mb']:.1f} |")
    for label in ("cold", "warm"):
        events = sorted({name for row in rows for name in row[f"{label}_events"]})
        lines += ["", f"Hook time by event, {label} cache (ms):", "",
                  "| Labs | " + " | ".join(events) + " |", "| ---: | " + " | ".join("---:" for _ in events) + " |"]
        lines += [f"| {row['labs']} | " + " | ".join(f"{row[f'{label}_events'].get(e, 0):.0f}" for e in events)
                  + " |" for row in rows]
    lines += ["", "## Targets", "", *targets(rows)]
    lines += ["", "Registry check without cache (`labs.yaml` parsed, validated and cross-checked): " + ", ".join(
        f"{size:,} labs {seconds:.2f} s ({seconds / size * 1000:.2f} ms per lab)" for size, seconds in scaling.items())
        + ": the time per lab stays flat, so the check is linear."]
    lines += ["", "Author loop, each edit (s): " + "; ".join(
        f"{row['labs']} labs: " + ", ".join(f"{t:.2f}" for t in row["loop_s"]) for row in rows if "loop_s" in row),
        "", HOW, "", WHERE_THE_TIME_GOES, ""]
    return "\n".join(lines)


WHERE_THE_TIME_GOES = """## Where the time goes when a target is not met

Cold builds (a fresh clone, CI) pay for work a warm build takes from `.cache/infralens/`.
Profiled per lab: checking that the starter is valid Python with `compile()` is about 0.65 ms
(the CPython parser; `ast.parse` is no faster), reading `labs.yaml` with line positions and
validating it with jsonschema about 1.3 ms, rendering the lab and starter pages about 0.65 ms,
and MathML for the handbook's formulas about 0.25 ms per formula. None of these can be skipped
on a first build without skipping a check an author relies on, so the cold targets are not met
(see the table). A warm build, which is what an author editing the site sees, spends about 1 ms
per lab in the hooks, on the edge of the target (0.99 ms and 1.12 ms per lab at 1,000 labs in two
runs a few minutes apart): a third of it reads each starter's cached parse, a third its cached
pages, and a third scans each page for code-line anchors and checks it for math. Under
`mkdocs serve --dirty` only the edited lab's pages are rendered; what remains of the author loop
is MkDocs itself (reloading the config, compiling the theme's templates: about 0.3 s) and the
file watcher, which polls every 0.5 s."""


HOW = """How to read it:

- *Full build* is `mkdocs build` of a synthetic project with N labs (copies of the real labs
  under new ids); *baseline* builds the very same pages, written out as static Markdown, with
  the InfraLens hooks off. Only the step that turns math into MathML stays in the baseline, as
  any site with offline math needs it. *Overhead ratio* is full / baseline in the same run.
- *Cold* is the first build of a fresh project; *warm* builds it again, when parsed starters,
  the validated registry and rendered lab pages come from `.cache/infralens/` (keyed by their
  inputs' content). Authors mostly see warm builds; CI and a fresh clone see cold ones.
- *Hook time* is the time spent inside the hook events (registry, starter parsing, rendering,
  handbook boxes, MathML and anchor registration), measured by wrapping each event.
- *Author loop* runs the README's serve command (`mkdocs serve --dirty`), saves an edit to an
  excerpt line of a starter and times until the served lab page shows it: 5 edits, median.
- *Lab page* is the largest lab page's HTML; *site* is every file of the built site."""


if __name__ == "__main__":
    main()
