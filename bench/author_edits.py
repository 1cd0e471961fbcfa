"""The two edits the benchmark makes to a starter as an author would, and the page that shows each.

- *append*: a comment line added at the end of the first lab's starter; its starter page shows it.
- *retitle*: a new title in the declaration of the first figure of the first lab that has one; its
  lab page shows the figure redrawn with it (a comment edit: the recorded data stays current).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from infralens.model import Lab
from infralens.registry import load_registry
from infralens.starter import parse_starter

KINDS = ("append", "retitle")


@dataclass(frozen=True)
class Edit:
    kind: str
    lab: Lab
    path: Path  # the starter
    page: str  # the served page that shows the edit, relative to the site root
    figure: str = ""  # for retitle: the figure's name

    def apply(self, marker: str) -> None:
        """Save the starter with `marker` in it (replacing an earlier retitle marker)."""
        text = self.path.read_text(encoding="utf-8")
        if self.kind == "append":
            text = text.rstrip("\n") + f"\n# {marker}\n"
        else:
            block = re.search(rf"^# lab:figure {re.escape(self.figure)}\s*$", text, re.M)
            assert block, f"no declaration of figure {self.figure} in {self.path}"
            title = re.compile(r"^(# title: .*?)(?: \[bench-[^\]]*\])?$", re.M)
            found = title.search(text, block.end())
            assert found, f"figure {self.figure} declares no title"
            text = text[: found.start()] + f"{found[1]} [{marker}]" + text[found.end():]
        self.path.write_text(text, encoding="utf-8")


def edit(project: Path, kind: str) -> Edit:
    """The edit of `kind` on `project`: the first lab's starter, or the first lab with a figure."""
    labs = load_registry(project).ordered_labs
    if kind == "append":
        lab = labs[0]
        return Edit(kind, lab, project / lab.starter, f"labs/{lab.id}/starter/")
    for lab in labs:
        figures = parse_starter((project / lab.starter).read_text(encoding="utf-8"), lab.starter, lab.id).figures
        if figures:
            return Edit(kind, lab, project / lab.starter, f"labs/{lab.id}/", figures[0].name)
    raise ValueError("no lab declares a figure")
