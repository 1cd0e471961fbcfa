"""Turn author text into Markdown that can only ever be text.

Author text (titles, notes, checkpoints) may use `code spans` and $math$; everything else is
escaped so that `<script>`, `<img onerror=...>` or `[x](javascript:...)` show as typed.
"""

from __future__ import annotations

import html
import re

# Characters with a Markdown meaning become numeric entities. (Backslash escapes would not do:
# arithmatex reads `\(` and `\[` as math delimiters.)
_SPECIALS = r"\\`*_{}\[\]#+\-.!|~^=:$"
_MARKDOWN_SPECIALS = re.compile(f"[{_SPECIALS}]")
# Text without these (Markdown specials or HTML's <, >, &) needs no escaping at all.
_NEEDS_ESCAPING = re.compile(f"[{_SPECIALS}<>&]")
# Code spans and $math$ spans are kept whole: Markdown and the math renderer escape them.
_VERBATIM = re.compile(r"(?<!\\)(`+).+?(?<!`)\1(?!`)|(?<![\\$\w])\$(?=\S)[^$\n]+?(?<=\S)\$(?![$\w])")


_BACKTICKS = re.compile(r"`+")


class Markdown(str):
    """Markdown produced by InfraLens itself, to be emitted as it is (not escaped)."""


def escape_text(text: str) -> str:
    """Escape plain text so Markdown renders it literally."""
    if not _NEEDS_ESCAPING.search(text):
        return text
    return _MARKDOWN_SPECIALS.sub(lambda m: f"&#{ord(m.group(0))};", html.escape(text, quote=False))


def inline(text: str) -> Markdown:
    """Author text as Markdown: code and math spans kept, everything else literal."""
    if not _NEEDS_ESCAPING.search(text):
        return Markdown(text)
    parts: list[str] = []
    position = 0
    for match in _VERBATIM.finditer(text):
        parts.append(escape_text(text[position:match.start()]))
        parts.append(match.group(0))
        position = match.end()
    parts.append(escape_text(text[position:]))
    return Markdown("".join(parts))


def _longest_backtick_run(lines: tuple[str, ...] | list[str]) -> int:
    return max((len(run) for line in lines if "`" in line for run in _BACKTICKS.findall(line)), default=0)


def fence_for(lines: tuple[str, ...] | list[str]) -> str:
    """A backtick fence longer than any backtick run in the lines, so they cannot close it."""
    return "`" * max(3, _longest_backtick_run(lines) + 1)


def code_span(text: str) -> Markdown:
    """Text as a Markdown code span, fenced so that backticks inside cannot close it."""
    fence = "`" * (_longest_backtick_run([text]) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def link_url(url: str) -> str:
    """A URL safe to place inside Markdown's `(...)` link syntax."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
