"""Charts as SVG made on the server: the same markup serves web pages and PDF reports.

No JavaScript, no inline styles (colours are SVG presentation attributes, which the CSP allows),
and every chart carries a <title> and <desc> for screen readers; pages show the numbers in a
table beside it too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

GREEN = "#1f6f5c"
BAND = "#cfe9de"
GRID = "#d5dbe3"
INK = "#1c2430"
MUTED = "#4d5866"
FONT = "DejaVu Sans, Noto Sans, Noto Sans CJK KR, sans-serif"


@dataclass(frozen=True)
class Frame:
    width: int = 640
    height: int = 280
    left: int = 56
    right: int = 16
    top: int = 16
    bottom: int = 44

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if step * magnitude >= raw:
            step *= magnitude
            break
    first = step * (low // step)
    ticks, value = [], first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def _tick_label(value: float) -> str:
    return _fmt(round(value, 2))


def _open(frame: Frame, title: str, description: str, chart_id: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" role="img" class="chart" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _axes(frame, x_ticks, y_ticks, sx, sy, x_label, y_label, x_format=_fmt) -> list[str]:
    parts = []
    for tick in y_ticks:
        y = sy(tick)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{frame.left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{_fmt(tick)}</text>"
        )
    base = frame.height - frame.bottom
    for tick in x_ticks:
        x = sx(tick)
        parts.append(
            f'<text x="{x:.1f}" y="{base + 18}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(x_format(tick))}</text>"
        )
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{frame.left + frame.plot_width / 2:.1f}" y="{frame.height - 6}" '
        f'text-anchor="middle" fill="{INK}">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{frame.top + frame.plot_height / 2:.1f}" text-anchor="middle" '
        f'fill="{INK}" transform="rotate(-90 14 {frame.top + frame.plot_height / 2:.1f})">'
        f"{escape(y_label)}</text>"
    )
    return parts


def trajectory_chart(
    estimates: Sequence[float],
    standard_errors: Sequence[float],
    *,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    chart_id: str = "trajectory",
    frame: Frame = Frame(),
    transform=lambda theta: theta,
) -> str:
    """A line of estimates after each item, with a ±1 SE band (values through `transform`)."""
    n = len(estimates)
    if n == 0:
        return ""
    values = [transform(theta) for theta in estimates]
    lows = [transform(theta - se) for theta, se in zip(estimates, standard_errors, strict=True)]
    highs = [transform(theta + se) for theta, se in zip(estimates, standard_errors, strict=True)]
    low, high = min(min(lows), min(highs)), max(max(lows), max(highs))
    pad = (high - low) * 0.08 or 1
    y_ticks = _nice_ticks(low - pad, high + pad)
    y_min, y_max = min(y_ticks[0], low - pad), max(y_ticks[-1], high + pad)

    def sx(i):
        return frame.left + (frame.plot_width * (i - 1) / max(n - 1, 1))

    def sy(v):
        return frame.top + frame.plot_height * (1 - (v - y_min) / (y_max - y_min))

    step = max(1, round(n / 10))
    x_ticks = list(range(1, n + 1, step))
    parts = _open(frame, title, description, chart_id)
    parts += _axes(frame, x_ticks, y_ticks, sx, sy, x_label, y_label)
    upper = " ".join(f"{sx(i + 1):.1f},{sy(v):.1f}" for i, v in enumerate(highs))
    lower = " ".join(f"{sx(i + 1):.1f},{sy(v):.1f}" for i, v in reversed(list(enumerate(lows))))
    parts.append(f'<polygon points="{upper} {lower}" fill="{BAND}" stroke="none"/>')
    line = " ".join(f"{sx(i + 1):.1f},{sy(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{GREEN}" stroke-width="2.5"/>')
    for i, v in enumerate(values):
        parts.append(f'<circle cx="{sx(i + 1):.1f}" cy="{sy(v):.1f}" r="3" fill="{GREEN}"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def histogram_chart(
    values: Sequence[float],
    *,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    bins: int = 10,
    chart_id: str = "distribution",
    frame: Frame = Frame(),
    marker: float | None = None,
) -> str:
    """Counts of `values` in equal-width bins; an optional vertical marker (e.g. one student)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    y_ticks = _nice_ticks(0, max(counts), min(5, max(counts)))
    y_max = max(y_ticks[-1], max(counts))

    def sx(v):
        return frame.left + frame.plot_width * (v - low) / (high - low)

    def sy(c):
        return frame.top + frame.plot_height * (1 - c / y_max)

    # Round values inside the range, not the bin edges: edges 172.6, 173.2, 173.8 would all
    # print as "173" when rounded.
    x_ticks = [tick for tick in _nice_ticks(low, high) if low - 1e-9 <= tick <= high + 1e-9]
    if len(x_ticks) < 2:
        x_ticks = [low, high]
    parts = _open(frame, title, description, chart_id)
    parts += _axes(frame, x_ticks, y_ticks, sx, sy, x_label, y_label, x_format=_tick_label)
    for i, count in enumerate(counts):
        x0, x1 = sx(low + width * i), sx(low + width * (i + 1))
        parts.append(
            f'<rect x="{x0 + 1:.1f}" y="{sy(count):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
            f'height="{sy(0) - sy(count):.1f}" fill="{GREEN}"/>'
        )
    if marker is not None and low <= marker <= high:
        x = sx(marker)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{sy(0):.1f}" '
            f'stroke="#a4161a" stroke-width="2" stroke-dasharray="5 3"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
