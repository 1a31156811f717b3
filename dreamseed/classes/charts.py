"""The growth chart: a student's scale scores over time with a band of one standard error, drawn
on the server like the other charts (the same SVG serves the page and print)."""

from collections.abc import Sequence
from datetime import datetime

from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from dreamseed.core.charts import BAND, GREEN, Frame, _axes, _nice_ticks, _open

RELIABLE_COLOUR = "#a4161a"


def growth_chart(
    dates: Sequence[datetime],
    scores: Sequence[float],
    scale_ses: Sequence[float],
    *,
    title: str,
    description: str,
    y_label: str,
    x_label: str,
    chart_id: str,
    reliable: Sequence[bool] = (),
    frame: Frame | None = None,
) -> str:
    """Scores at their dates (x proportional to time) with a ±1 SE band; a point whose change from
    the previous sitting is beyond measurement error gets a ring."""
    frame = frame or Frame()
    n = len(scores)
    if n == 0:
        return ""
    lows = [score - se for score, se in zip(scores, scale_ses, strict=True)]
    highs = [score + se for score, se in zip(scores, scale_ses, strict=True)]
    low, high = min(lows), max(highs)
    pad = (high - low) * 0.08 or 1
    y_ticks = _nice_ticks(low - pad, high + pad)
    y_min, y_max = min(y_ticks[0], low - pad), max(y_ticks[-1], high + pad)
    stamps = [moment.timestamp() for moment in dates]
    first, last = min(stamps), max(stamps)
    span = last - first
    inset = 24  # keep the first and last points off the axis

    def sx(stamp):
        if span <= 0:
            return frame.left + frame.plot_width / 2
        return frame.left + inset + (frame.plot_width - 2 * inset) * (stamp - first) / span

    def sy(value):
        return frame.top + frame.plot_height * (1 - (value - y_min) / (y_max - y_min))

    # Label at most six sittings, evenly spread, and never the same date twice.
    step = max(1, -(-n // 6))
    labelled, seen = [], set()
    for index in [*range(0, n, step), n - 1]:
        text = date_format(dates[index], "SHORT_DATE_FORMAT")
        if text not in seen:
            seen.add(text)
            labelled.append((stamps[index], text))
    labels = dict(labelled)
    parts = _open(frame, title, description, chart_id)
    parts += _axes(
        frame,
        [stamp for stamp, _text in labelled],
        y_ticks,
        sx,
        sy,
        x_label,
        y_label,
        x_format=lambda stamp: labels[stamp],
    )
    if n > 1:
        upper = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in zip(stamps, highs, strict=True))
        lower = " ".join(
            f"{sx(t):.1f},{sy(v):.1f}" for t, v in reversed(list(zip(stamps, lows, strict=True)))
        )
        parts.append(f'<polygon points="{upper} {lower}" fill="{BAND}" stroke="none"/>')
        line = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in zip(stamps, scores, strict=True))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{GREEN}" stroke-width="2.5"/>')
    for index, (stamp, value) in enumerate(zip(stamps, scores, strict=True)):
        x = sx(stamp)
        # The error bar, so a single sitting shows its band too.
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{sy(highs[index]):.1f}" '
            f'y2="{sy(lows[index]):.1f}" stroke="{GREEN}" stroke-width="1"/>'
        )
        parts.append(f'<circle cx="{x:.1f}" cy="{sy(value):.1f}" r="4" fill="{GREEN}"/>')
        if index < len(reliable) and reliable[index]:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{sy(value):.1f}" r="8" fill="none" '
                f'stroke="{RELIABLE_COLOUR}" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return mark_safe("\n".join(parts))
