"""The baseline's only hook: formulas to MathML, which any site with offline math needs."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hooks"))
from infralens.mathml import render_math


def on_page_content(html, page, config, files):
    return render_math(html)
