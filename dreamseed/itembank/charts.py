"""Item characteristic curves as small server-made SVG (no JavaScript chart library; the same
markup works in a page, under a strict CSP, and in a PDF)."""

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dreamseed.cat.irt import item_probability
from dreamseed.cat.polytomous import MODEL_CODES, category_probabilities_scalar

THETA_RANGE = (-4.0, 4.0)
CURVE_POINTS = 81
WIDTH, HEIGHT = 320, 200
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 38, 12, 12, 34
OLD_COLOUR, NEW_COLOUR, OBSERVED_COLOUR, AXIS_COLOUR = "#6b7785", "#1f6f5c", "#b45309", "#4d5866"


def _x(theta: float) -> float:
    low, high = THETA_RANGE
    return MARGIN_LEFT + (theta - low) / (high - low) * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)


def _y(p: float) -> float:
    return MARGIN_TOP + (1.0 - p) * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM)


def _curve(parameters: Sequence[float], colour: str, css: str, dashed: bool = False) -> str:
    a, b, c, d = parameters
    low, high = THETA_RANGE
    points = " ".join(
        f"{_x(theta):.1f},{_y(item_probability(theta, a, b, c, d)):.1f}"
        for theta in (low + (high - low) * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS))
    )
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return (
        f'<polyline class="{css}" points="{points}" fill="none" stroke="{colour}" '
        f'stroke-width="2.2"{dash}/>'
    )


def _axes() -> str:
    bottom, left = HEIGHT - MARGIN_BOTTOM, MARGIN_LEFT
    right = WIDTH - MARGIN_RIGHT
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{AXIS_COLOUR}"/>',
        f'<line x1="{left}" y1="{MARGIN_TOP}" x2="{left}" y2="{bottom}" stroke="{AXIS_COLOUR}"/>',
    ]
    for theta in range(int(THETA_RANGE[0]), int(THETA_RANGE[1]) + 1, 2):
        x = _x(theta)
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" '
            f'stroke="{AXIS_COLOUR}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="{AXIS_COLOUR}">{theta:g}</text>'
        )
    for p in (0.0, 0.5, 1.0):
        y = _y(p)
        parts.append(
            f'<line x1="{left - 4}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e3e8ee"/>'
        )
        parts.append(
            f'<text x="{left - 7}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{AXIS_COLOUR}">{p:g}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle" '
        f'font-size="11" fill="{AXIS_COLOUR}">θ</text>'
    )
    return "".join(parts)


def _legend(entries: list[tuple[str, str, str]]) -> str:
    parts, y = [], MARGIN_TOP + 8
    for label, colour, kind in entries:
        x = MARGIN_LEFT + 8
        if kind == "dot":
            parts.append(f'<circle cx="{x + 9}" cy="{y - 4}" r="3" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="5 4"' if kind == "dashed" else ""
            parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour}" '
                f'stroke-width="2.2"{dash}/>'
            )
        parts.append(
            f'<text x="{x + 24}" y="{y}" font-size="11" fill="#1c2430">{escape(label)}</text>'
        )
        y += 15
    return "".join(parts)


def icc_svg(
    *,
    old: Sequence[float] | None = None,
    new: Sequence[float] | None = None,
    observed: Sequence[Sequence[float]] = (),
    title: str = "",
    old_label: str = "",
    new_label: str = "",
    observed_label: str = "",
) -> SafeString:
    """An item characteristic curve: old parameters dashed, new solid, observed proportions
    correct by ability group as dots (area grows with the group's size).

    ``old``/``new`` are ``(a, b, c, d)``; ``observed`` rows are ``(theta, proportion, n)``.
    """
    body, legend = [_axes()], []
    if old is not None:
        body.append(_curve(old, OLD_COLOUR, "icc-old", dashed=new is not None))
        legend.append((old_label, OLD_COLOUR, "dashed" if new is not None else "line"))
    if new is not None:
        body.append(_curve(new, NEW_COLOUR, "icc-new"))
        legend.append((new_label, NEW_COLOUR, "line"))
    if observed:
        largest = max(row[2] for row in observed) or 1
        for theta, proportion, n in observed:
            if THETA_RANGE[0] <= theta <= THETA_RANGE[1]:
                radius = 1.8 + 2.6 * math.sqrt(n / largest)
                body.append(
                    f'<circle class="icc-observed" cx="{_x(theta):.1f}" cy="{_y(proportion):.1f}" '
                    f'r="{radius:.1f}" fill="{OBSERVED_COLOUR}" fill-opacity="0.75">'
                    f"<title>θ {theta:+.2f}: {proportion:.2f} (n={int(n)})</title></circle>"
                )
        legend.append((observed_label, OBSERVED_COLOUR, "dot"))
    svg = (
        f'<svg class="icc" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}{_legend(legend)}</svg>"
    )
    return mark_safe(svg)


# Category characteristic curves (partial credit): one colour per score, colour-blind safe
# (Okabe-Ito), the score written at each curve's peak so colour is not the only cue.
CATEGORY_COLOURS = ("#b45309", "#0072b2", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#6b7785")


def ccc_svg(
    *, model: str, a: float, steps: Sequence[float], title: str = "", labels: Sequence[str] = ()
) -> SafeString:
    """Category characteristic curves of a GPCM or GRM item: P(score = k | θ) for k = 0..m.

    ``labels`` names each score for the legend ("0 points", ...); ``steps`` are b_1..b_m.
    """
    code = MODEL_CODES[model]
    low, high = THETA_RANGE
    thetas = [low + (high - low) * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS)]
    table = [category_probabilities_scalar(t, code, a, list(steps), 0.0, 1.0) for t in thetas]
    body, legend = [_axes()], []
    for k in range(len(steps) + 1):
        colour = CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)]
        points = " ".join(
            f"{_x(t):.1f},{_y(row[k]):.1f}" for t, row in zip(thetas, table, strict=True)
        )
        body.append(
            f'<polyline class="ccc-{k}" points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="2.2"/>'
        )
        peak = max(range(len(thetas)), key=lambda i, k=k: table[i][k])
        body.append(
            f'<text x="{_x(thetas[peak]):.1f}" y="{_y(table[peak][k]) - 4:.1f}" '
            f'text-anchor="middle" font-size="11" font-weight="bold" fill="{colour}">{k}</text>'
        )
        label = labels[k] if k < len(labels) else str(k)
        legend.append((label, colour, "line"))
    svg = (
        f'<svg class="icc ccc" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}{_legend_right(legend)}</svg>"
    )
    return mark_safe(svg)


def _legend_right(entries: list[tuple[str, str, str]]) -> str:
    """A legend in the top right corner (the left one would cover the low scores' curves)."""
    parts, y = [], MARGIN_TOP + 8
    x = WIDTH - MARGIN_RIGHT - 78
    for label, colour, _kind in entries:
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 14}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2.2"/>'
            f'<text x="{x + 18}" y="{y}" font-size="11" fill="#1c2430">{escape(label)}</text>'
        )
        y += 14
    return "".join(parts)
