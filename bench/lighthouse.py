"""Lighthouse scores of the home page and lab pages, served the way GitHub Pages serves them.

Run with `make lighthouse` (or `.venv/bin/python bench/lighthouse.py`). It builds the site for
the address it serves it at (so instant navigation and its sitemap work as when published),
serves it with gzip and a 10-minute cache, runs Lighthouse's mobile preset in Chromium and
prints the performance and accessibility scores, where a lab page's main-thread time goes, and
any request that left the site. The "floor" page is Lab 01's page without its content: the score
the theme and the site's shell leave a lab page. Lighthouse is installed on first use under .cache/lighthouse.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # for bench.localhost

from bench.localhost import free_port  # noqa: E402

LIGHTHOUSE_DIR = ROOT / ".cache" / "lighthouse"
LIGHTHOUSE_VERSION = "12.8.2"  # the version the site's targets were set with
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = Path(os.environ.get("INFRALENS_CHROMIUM", "/usr/bin/chromium"))
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
PAGES = {
    "home": "",
    "lab 01": "labs/lab-01-forward-noise-process/",
    "lab 24": "labs/lab-24-flashattention-tiling/",
    "lab 27": "labs/lab-27-paged-attention/",
    # Lab 01's page with its article cut to the title: the same head, header, navigation, styles
    # and scripts. Its score is what the theme and the site's shell allow a page before any lab
    # content, the ceiling against which to read a lab page's score.
    "floor": "labs/lighthouse-floor/",
}
FLOOR_OF = "lab 01"
TARGETS = {"home": (98, 100), "lab": (98, 100)}  # (performance, accessibility), as the site promises
COMPRESSIBLE = (".html", ".css", ".js", ".json", ".xml", ".svg", ".txt", ".py")


class GzipHandler(SimpleHTTPRequestHandler):
    """Static files with gzip and a 10-minute cache, like GitHub Pages."""

    def log_message(self, format: str, *args) -> None:
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                return super().send_head()  # the base class redirects to the slash form
            path = path / "index.html"
        if not path.is_file() or not path.name.endswith(COMPRESSIBLE) \
                or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Body(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()


class _Body:
    """What send_head returns: a file-like object copied to the response."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


def ensure_lighthouse() -> Path:
    if not LIGHTHOUSE.exists():
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(LIGHTHOUSE_DIR), f"lighthouse@{LIGHTHOUSE_VERSION}"], check=True)
    return LIGHTHOUSE


def build_site(site: Path, base: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if k != "INFRALENS_REPO_URL"},
           "NO_MKDOCS_2_WARNING": "1", "INFRALENS_SITE_URL": base}
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                   cwd=ROOT, env=env, check=True)


def write_floor_page(site: Path) -> Path:
    """The "floor" page, made from Lab 01's built page (see PAGES); it is deleted after the run."""
    page = (site / PAGES[FLOOR_OF] / "index.html").read_text(encoding="utf-8")
    article = re.search(r'(<article class="md-content__inner md-typeset">).*?(</article>)', page, re.S)
    if article is None:
        raise SystemExit(f"no article in {PAGES[FLOOR_OF]}: the theme's page layout changed")
    title = re.search(r"<h1[^>]*>.*?</h1>", article[0], re.S)
    floor = site / PAGES["floor"] / "index.html"
    floor.parent.mkdir(parents=True, exist_ok=True)
    floor.write_text(page.replace(article[0], article[1] + (title[0] if title else "") + article[2]), encoding="utf-8")
    return floor.parent


def page_paths(site: Path, wanted: str) -> dict[str, str]:
    """The site paths a `--pages` word names: a page of PAGES, "lab NN", "largest" or "labs"."""
    labs = {f"lab {folder.name.split('-')[1]}": f"labs/{folder.name}/"
            for folder in sorted((site / "labs").glob("lab-*")) if (folder / "index.html").is_file()}
    if wanted in PAGES:
        return {wanted: PAGES[wanted]}
    if wanted == "labs":
        return labs
    if wanted == "largest":
        name = max(labs, key=lambda lab: (site / labs[lab] / "index.html").stat().st_size)
        return {name: labs[name]}
    if wanted in labs:
        return {wanted: labs[wanted]}
    raise SystemExit(f"no page {wanted!r}: name one of {', '.join(PAGES)}, 'lab NN' (01 to "
                     f"{max(labs).split()[1]}), 'largest' or 'labs'")


def serve(site: Path, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(GzipHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_lighthouse(url: str, out: Path) -> dict:
    subprocess.run([str(ensure_lighthouse()), url, "--quiet", "--output=json", f"--output-path={out}",
                    "--only-categories=performance,accessibility", f"--chrome-flags={CHROME_FLAGS}"],
                   env={**os.environ, "CHROME_PATH": str(CHROMIUM)}, check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def scores(report: dict) -> tuple[int, int]:
    categories = report["categories"]
    return round(categories["performance"]["score"] * 100), round(categories["accessibility"]["score"] * 100)


def outside_requests(report: dict, base: str) -> list[str]:
    items = report["audits"]["network-requests"]["details"]["items"]
    return [item["url"] for item in items if not item["url"].startswith((base, "data:", "blob:"))]


def main_thread(report: dict) -> list[tuple[str, float]]:
    """Main-thread time by kind of work (ms, on Lighthouse's simulated slow CPU)."""
    items = report["audits"]["mainthread-work-breakdown"]["details"]["items"]
    return [(item["groupLabel"], item["duration"]) for item in items]


def scripts(report: dict) -> list[tuple[str, float, float]]:
    """Scripts by CPU time: (url, total ms, script evaluation ms)."""
    items = report["audits"]["bootup-time"]["details"]["items"]
    return [(item["url"], item["total"], item["scripting"]) for item in items]


def metrics(report: dict) -> str:
    audits = report["audits"]
    names = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
             "speed-index")
    return ", ".join(f"{name.replace('-', ' ')} {audits[name]['displayValue']}" for name in names)


def failed_accessibility(report: dict) -> list[str]:
    audits = report["audits"]
    return [ref["id"] for ref in report["categories"]["accessibility"]["auditRefs"]
            if ref["weight"] and audits[ref["id"]]["score"] == 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="runs per page; the median is reported (default 5: one run's score can move by 5 points)")
    parser.add_argument("--site", type=Path, help="serve this already built site instead of building one "
                        "(it must have been built for http://127.0.0.1:PORT/ with --port PORT)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pages", nargs="*", default=list(PAGES), metavar="PAGE",
                        help=f"pages to score: {', '.join(PAGES)}, any lab as 'lab NN', 'largest' (the "
                        "heaviest lab page) or 'labs' (every lab page); default: the named pages")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"Lighthouse needs Chromium at {CHROMIUM} (or set INFRALENS_CHROMIUM)")
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}/"
    work = Path(tempfile.mkdtemp(prefix="infralens-lighthouse-"))
    site = args.site or work / "site"
    if not args.site:
        build_site(site, base)
    server = serve(site, port)
    failures = []
    pages = {name: path for wanted in args.pages for name, path in page_paths(site, wanted).items()}
    floor = write_floor_page(site) if "floor" in pages else None
    try:
        for name, path in pages.items():
            reports = [run_lighthouse(base + path, work / f"{name.replace(' ', '-')}-{run}.json")
                       for run in range(args.runs)]
            performance = statistics.median(scores(report)[0] for report in reports)
            report = min(reports, key=lambda each: abs(scores(each)[0] - performance))
            accessibility = scores(report)[1]
            print(f"{name:7} performance {performance:5.1f} (runs {[scores(r)[0] for r in reports]}), "
                  f"accessibility {accessibility}")
            print(f"        {metrics(report)}")
            for label, duration in main_thread(report)[:4]:
                print(f"        main thread: {label:28} {duration:7.0f} ms")
            for url, total, scripting in scripts(report)[:3]:
                print(f"        script: {url.removeprefix(base):44} {total:6.0f} ms ({scripting:.0f} ms evaluating)")
            if failed := failed_accessibility(report):
                print(f"        failed accessibility audits: {', '.join(failed)}")
            if outside := outside_requests(report, base):
                print(f"        requests outside the site: {outside}")
                failures.append(f"{name} asked other hosts for {outside}")
            if name == "floor":
                continue  # a measure to read the others by, not a page of the site
            target = TARGETS["home" if name == "home" else "lab"]
            if performance < target[0] or accessibility < target[1]:
                failures.append(f"{name}: {performance:.0f} / {accessibility}, target {target[0]} / {target[1]}")
    finally:
        if floor is not None:
            shutil.rmtree(floor, ignore_errors=True)
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"BELOW TARGET: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
