"""Interview prep: every lab's interview explanation, misunderstandings and questions on one
page by chapter, and the questions as data for the practice page."""

from __future__ import annotations

import json

import jinja2
import markdown

from .markdown_text import Markdown, inline
from .mathml import Formulas, render_math
from .model import Registry
from .paths import INTERVIEW, PRACTICE, PRACTICE_QUESTIONS, lab_uri, relative, url_relative
from .predictions import answer_of
from .render import front_matter
from .starter import Checkpoint, Starter


def render_interview(env: jinja2.Environment, registry: Registry, starters: dict[str, Starter]) -> str:
    chapters = [(chapter, [(lab, starters[lab.id], Markdown(relative(lab_uri(lab), INTERVIEW)))
                           for lab in registry.labs_in(chapter.id) if lab.id in starters])
                for chapter in sorted(registry.chapters, key=lambda c: c.number)]
    return env.get_template("interview.md.j2").render(
        front_matter=front_matter("Interview prep", search={"exclude": True}), chapters=chapters,
        practice_href=Markdown(relative(PRACTICE, INTERVIEW)))


def render_practice(env: jinja2.Environment) -> str:
    return env.get_template("practice.md.j2").render(
        front_matter=front_matter("Practice", search={"exclude": True}),
        questions_href=Markdown(relative(PRACTICE_QUESTIONS, PRACTICE)),
        interview_href=Markdown(relative(INTERVIEW, PRACTICE)))


class InlineHtml:
    """Author text as HTML, as a lab page shows it: code spans and rendered math, nothing else.
    One converter for many texts (making one builds its whole parser)."""

    def __init__(self, formulas: Formulas | None = None) -> None:
        self._converter = markdown.Markdown(extensions=["pymdownx.arithmatex"],
                                            extension_configs={"pymdownx.arithmatex": {"generic": True}})
        self._formulas = formulas or Formulas()

    def __call__(self, text: str) -> str:
        html, _ = render_math(self._converter.reset().convert(inline(text)), formulas=self._formulas)
        return html.removeprefix("<p>").removesuffix("</p>")


def practice_questions(registry: Registry, starters: dict[str, Starter], formulas: Formulas | None = None,
                       *, directory_urls: bool = True, outputs: dict[str, str] | None = None) -> str:
    """Every checkpoint as JSON for the practice page; links are relative to the JSON file, to
    the lab pages' URLs under MkDocs' `use_directory_urls` (`directory_urls`).
    `formulas`: those the build converted already. A question settled by starter lines carries
    them (`code`), since practice shows no excerpt; one settled by a printed line carries it
    (`output`), shown with the answer, since it would give the answer away. A prediction
    carries its answer (`predict`), read from the recorded output (`outputs`, by lab)."""
    inline_html = InlineHtml(formulas)
    questions = [
        {"id": f"{lab.id}#{index}", "lab": lab.id, "label": f"{lab.label}: {lab.title}",
         "href": url_relative(lab_uri(lab), PRACTICE_QUESTIONS, directory_urls) + "#what-to-notice",
         "question": inline_html(checkpoint.question), "answer": inline_html(checkpoint.answer),
         **question_evidence(starters[lab.id], checkpoint, (outputs or {}).get(lab.id, ""))}
        for lab in registry.ordered_labs if lab.id in starters
        for index, checkpoint in enumerate(starters[lab.id].checkpoints, 1)
    ]
    return json.dumps(questions, ensure_ascii=False)


def question_evidence(starter: Starter, checkpoint: Checkpoint, output: str = "") -> dict[str, object]:
    """What practice shows beside a question: the starter lines or the printed line it is about,
    and the number to predict first, if it asks for one."""
    evidence = checkpoint.evidence
    if evidence.in_output:
        answer = answer_of(checkpoint, output)[0] if output else None
        return {"output": evidence.output_text, **({"predict": answer.as_data()} if answer else {})}
    if evidence.start:
        return {"code": {"first": evidence.start, "lines": list(starter.lines[evidence.start - 1:evidence.end])}}
    return {}
