"""`infralens` command: check the labs without building, and record starter outputs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from .errors import AuthorError
from .figure_data import FigureRunError, run_figures, write_recording
from .lab_rules import moved_references, recorded_lines
from .model import Lab
from .paths import output_path, planted_bugs_path, recorded_lines_path
from .planted_bugs import read_planted_bugs, run_planted_bug
from .project import load_project, read_recorded_lines
from .registry import load_registry
from .running import run_starter
from .scaffold import create_lab
from .starter import parse_starter


class _ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml for plain settings; tags such as `!ENV` are read as no value."""


_ConfigLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def docs_dir(root: Path) -> Path:
    """The docs_dir mkdocs.yml sets (default `docs`), so `check` reads the pages MkDocs builds."""
    try:
        config = yaml.load((root / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_ConfigLoader)
    except (OSError, yaml.YAMLError):
        config = None
    name = config.get("docs_dir") if isinstance(config, dict) else None
    return root / (name if isinstance(name, str) else "docs")


def check(root: Path) -> int:
    started = time.perf_counter()
    project = load_project(root, docs_dir(root))
    if project.problems:
        print(AuthorError(list(project.problems)).report(), file=sys.stderr)
        return 1
    elapsed = (time.perf_counter() - started) * 1000
    print(f"ok: {len(project.registry.labs)} labs in {len(project.registry.chapters)} chapters "
          f"checked in {elapsed:.0f} ms")
    return 0


def outputs(root: Path, labs: list[str]) -> int:
    """Run starters and write what each prints next to it, for its lab page's "Run it"."""
    try:
        registry = load_registry(root, docs_dir(root))
    except AuthorError as error:
        print(error.report(), file=sys.stderr)
        return 1
    status = 0
    for lab in registry.labs:
        if labs and lab.id not in labs:
            continue
        result = run_starter(root, lab.starter)
        if result.returncode != 0:
            print(f"{lab.starter} (lab {lab.id}) failed:\n{result.stderr}", file=sys.stderr)
            status = 1
            continue
        (root / output_path(lab.starter)).write_text(result.stdout, encoding="utf-8")
        print(f"wrote {output_path(lab.starter)}")
        status |= record_figures(root, lab)
        status |= record_lines(root, lab)
    return status


def record_lines(root: Path, lab: Lab) -> int:
    """Record the digest of the code the output was recorded from, and what each line the
    starter's comments point at reads, so that `check` can tell when the code changes or an edit
    above moves a referenced line. Refuses while a reference already points at a moved line:
    recording then would make the wrong line look right."""
    try:
        starter = parse_starter((root / lab.starter).read_text(encoding="utf-8"), lab.starter, lab.id)
    except AuthorError as error:
        print(error.report(), file=sys.stderr)
        return 1
    if moved := moved_references(lab, starter, read_recorded_lines(root, lab)[1]):
        print(AuthorError(moved).report(), file=sys.stderr)
        return 1
    path = recorded_lines_path(lab.starter)
    record = {"code": starter.code_digest, "references": recorded_lines(starter)}
    (root / path).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


def mutate(root: Path, labs: list[str]) -> int:
    """Run each lab's planted bugs; say which ones its asserts catch and which they miss."""
    try:
        registry = load_registry(root, docs_dir(root))
    except AuthorError as error:
        print(error.report(), file=sys.stderr)
        return 1
    unknown = sorted(set(labs) - {lab.id for lab in registry.labs})
    if unknown:
        print(f"no lab {', '.join(unknown)} in labs.yaml", file=sys.stderr)
        return 1
    status = 0
    for lab in registry.ordered_labs:
        if labs and lab.id not in labs:
            continue
        bugs, problems = read_planted_bugs(root, lab, (root / lab.starter).read_text(encoding="utf-8"))
        if problems:
            print(AuthorError(problems).report(), file=sys.stderr)
            status = 1
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(lambda bug, lab=lab: run_planted_bug(root, lab, bug), bugs))
        for outcome in outcomes:
            mark = "caught" if outcome.caught else "MISSED"
            print(f"{mark}: {lab.id}: {outcome.bug.bug}\n    {outcome.detail}")
            if not outcome.caught:
                print(f"    {lab.starter.removesuffix('.py')}.bugs.yaml:{outcome.bug.line}: make an assert check "
                      "what this bug breaks (or plant a bug the lab is about)", file=sys.stderr)
                status = 1
    return status


def record_figures(root: Path, lab: Lab) -> int:
    """Run the starter's `figures()` and record the tables its declared figures draw."""
    try:
        starter = parse_starter((root / lab.starter).read_text(encoding="utf-8"), lab.starter, lab.id)
    except AuthorError as error:
        print(error.report(), file=sys.stderr)
        return 1
    if not starter.figures:
        return 0
    try:
        data = run_figures(root, lab.starter)
    except FigureRunError as error:
        print(f"{lab.starter} (lab {lab.id}): its `figures()` failed: {error}", file=sys.stderr)
        return 1
    path = write_recording(root, lab, starter, data)
    print(f"wrote {path.relative_to(root).as_posix()}")
    return 0


def new(root: Path, title: str, chapter: str, number: int | None, lab_id: str | None) -> int:
    """Create a lab from a title and a chapter: registry entry, starter and recorded output."""
    if importlib.util.find_spec("numpy") is None:  # before writing anything: the starter runs next
        print(f"infralens new: the starters need numpy, which {sys.executable} does not have. Fix: run "
              "`make serve` (it installs the site with numpy) or `pip install -e '.[starters]'`, then run "
              "this command again; nothing was written.", file=sys.stderr)
        return 1
    try:
        lab = create_lab(root, docs_dir(root), title, chapter, number, lab_id)
    except AuthorError as error:
        print(error.report(), file=sys.stderr)
        return 1
    print(f"added {lab.id} (Lab {lab.number:02d}) to labs.yaml")
    print(f"wrote {lab.starter}")
    print(f"wrote {planted_bugs_path(lab.starter)}")
    status = outputs(root, [lab.id])
    print("next: replace every 'Replace ...' text in the starter and the registry entry, then run "
          "`infralens outputs " + lab.id + "` and `infralens check`.")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infralens", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate labs.yaml and every starter without building the site")
    record = commands.add_parser("outputs", help="run starters and record their output for the lab pages")
    record.add_argument("labs", nargs="*", help="lab ids (default: all)")
    planted = commands.add_parser("mutate", help="run each lab's planted bugs: its asserts must catch every one")
    planted.add_argument("labs", nargs="*", help="lab ids (default: all)")
    scaffold = commands.add_parser("new", help="start a new lab: registry entry, starter and output")
    scaffold.add_argument("title", help="the lab's title, e.g. 'Tensor Parallel Attention'")
    scaffold.add_argument("--chapter", required=True, help="the id of a chapter in labs.yaml")
    scaffold.add_argument("--number", type=int, help="lab number (default: the next free one)")
    scaffold.add_argument("--id", dest="lab_id", help="lab id (default: lab-NN-<title slug>)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(args.root)
    if args.command == "mutate":
        return mutate(args.root, args.labs)
    if args.command == "new":
        return new(args.root, args.title, args.chapter, args.number, args.lab_id)
    return outputs(args.root, args.labs)
