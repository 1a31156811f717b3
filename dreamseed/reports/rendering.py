"""Django template -> HTML -> PDF with WeasyPrint, tuned for many small documents per process.

What costs time when a worker renders thousands of reports, and what we do about it:
- importing WeasyPrint (~1.4 s) and building a font configuration (a Pango font map over the
  system fonts): done once per process (per thread), lazily, so web processes never pay it;
- parsing the report stylesheet: one `CSS` object per process, plus a one-line `@page` sheet
  per paper size;
- boxes: every table cell costs ~0.5 ms of cascade, layout and drawing, so the student
  report's item-by-item appendix is one line of tab-separated text per answer (about 100 ms
  less than a table), and the tables left use `table-layout: fixed` (one layout pass);
- charts are SVG images (see `Chart`), not inline SVG: ~40 ms less per report;
- embedded fonts are subsetted to the glyphs used (WeasyPrint's default; never `full_fonts`,
  which would embed ~30 MB of Noto CJK into every file); Latin-only reports embed no CJK font
  (see static/css/report.css).

Nothing is fetched over the network while rendering: charts come from memory (`chart:` URLs)
and the URL fetcher allows `data:` URLs otherwise, so text in a report can never make the
worker fetch a URL or read a file.
"""

import logging
import re
import threading
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from dreamseed.reports.fonts import FAMILY as KOREAN_FAMILY
from dreamseed.reports.fonts import korean_font_faces
from dreamseed.reports.models import Paper

STYLESHEET = "css/report.css"
CHART_SCHEME = "chart:"
PAGE_SIZES = {Paper.A4: "A4", Paper.LETTER: "letter"}

_local = threading.local()

# WeasyPrint logs eight INFO lines per document ("Step 1 - Fetching and parsing HTML", ...): a
# worker making thousands of reports would log little else. Its warnings still show.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _stylesheet_text() -> str:
    path = finders.find(STYLESHEET) or Path(settings.BASE_DIR) / "static" / STYLESHEET
    return Path(path).read_text(encoding="utf-8")


def _engine() -> SimpleNamespace:
    """The per-thread WeasyPrint objects reused across documents."""
    engine = getattr(_local, "engine", None)
    if engine is None:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher, URLFetcherResponse

        class ChartFetcher(URLFetcher):
            """Serves `chart:<name>` from the document's charts; allows `data:`; nothing else."""

            charts: dict[str, str] = {}

            def fetch(self, url, headers=None):
                if url.startswith(CHART_SCHEME):
                    svg = self.charts[url.removeprefix(CHART_SCHEME)]
                    return URLFetcherResponse(
                        url, svg.encode("utf-8"), headers={"Content-Type": "image/svg+xml"}
                    )
                return super().fetch(url, headers)

        font_config = FontConfiguration()
        engine = SimpleNamespace(
            HTML=HTML,
            font_config=font_config,
            # Our own stylesheet may read the cut Korean fonts from the cache folder (file:).
            stylesheet=CSS(
                string=korean_font_faces() + "\n" + _stylesheet_text(),
                font_config=font_config,
                url_fetcher=URLFetcher(allowed_protocols={"file"}),
            ),
            pages={
                paper: CSS(string=f"@page {{ size: {size}; }}", font_config=font_config)
                for paper, size in PAGE_SIZES.items()
            },
            fetcher=ChartFetcher(allowed_protocols={"data"}, timeout=1),
        )
        _local.engine = engine
    return engine


def reset() -> None:
    """Drop this thread's WeasyPrint objects (they are rebuilt on next use)."""
    _local.__dict__.pop("engine", None)


def html_to_pdf(html: str, *, paper: str = Paper.A4, charts: dict | None = None) -> bytes:
    engine = _engine()
    engine.fetcher.charts = charts or {}
    try:
        document = engine.HTML(string=html, url_fetcher=engine.fetcher)
        return document.write_pdf(
            stylesheets=[engine.stylesheet, engine.pages[Paper(paper)]],
            font_config=engine.font_config,
        )
    finally:
        engine.fetcher.charts = {}


class Chart:
    """A server-made SVG chart (dreamseed.core.charts) placed in a PDF as an image.

    The template prints it as `<img src="chart:<name>">` and the URL fetcher hands WeasyPrint
    the SVG. Same picture as inline SVG, but drawn by WeasyPrint's SVG renderer instead of
    putting its ~60 elements through the HTML cascade and layout, and without a long base64
    `data:` URL for the HTML parser to read character by character. The chart's <title> is the
    image's alt text."""

    def __init__(self, name: str, svg: str):
        self.name = name
        # The shared chart code names the system CJK font; put the cut one before it.
        self.svg = str(svg).replace("Noto Sans CJK KR", f"{KOREAN_FAMILY}, Noto Sans CJK KR", 1)

    def __bool__(self) -> bool:
        return bool(self.svg)

    def __html__(self) -> str:
        if not self.svg:
            return ""
        title = re.search(r"<title[^>]*>(.*?)</title>", self.svg, flags=re.S)
        alt = title.group(1) if title else ""  # escaped (quotes too) by dreamseed.core.charts
        size = re.search(r'\bwidth="(\d+)" height="(\d+)"', self.svg)
        dimensions = f' width="{size.group(1)}" height="{size.group(2)}"' if size else ""
        return mark_safe(  # the alt text comes escaped from the chart's <title>
            f'<img class="chart" alt="{alt}"{dimensions} src="{CHART_SCHEME}{self.name}">'
        )

    __str__ = __html__  # templates print str(value)


def render_pdf(template_name: str, context: dict, *, paper: str = Paper.A4) -> bytes:
    """Render a template under templates/reports/ to PDF bytes, in the active language."""
    charts = {value.name: value.svg for value in context.values() if isinstance(value, Chart)}
    return html_to_pdf(render_to_string(template_name, context), paper=paper, charts=charts)
