"""The test charts (web pages and PDF reports share them)."""

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from dreamseed.core.charts import histogram_chart, trajectory_chart


def session_trajectory_svg(*, session, attempts) -> str:
    assessment = session.assignment.assessment
    scored = [a for a in attempts if not a.is_pilot and a.theta_after is not None]
    if not scored:
        return ""
    svg = trajectory_chart(
        [a.theta_after for a in scored],
        [a.se_after for a in scored],
        title=_("Score after each question"),
        description=_(
            "%(scale)s after each of %(count)s questions, with a band of one standard error; "
            "final score %(score)s."
        )
        % {"scale": assessment.scale_name, "count": len(scored), "score": f"{session.score:.0f}"},
        x_label=_("Question"),
        y_label=assessment.scale_name,
        chart_id=f"trajectory-{session.pk}",
        transform=assessment.scale_score,
    )
    return mark_safe(svg)


def assignment_distribution_svg(*, assignment, sessions, marker=None) -> str:
    scores = [s.score for s in sessions if s.score is not None]
    if not scores:
        return ""
    assessment = assignment.assessment
    svg = histogram_chart(
        scores,
        title=_("Distribution of scores"),
        description=_("%(count)s students; scores from %(low)s to %(high)s.")
        % {"count": len(scores), "low": f"{min(scores):.0f}", "high": f"{max(scores):.0f}"},
        x_label=assessment.scale_name,
        y_label=_("Students"),
        bins=min(12, max(4, len(scores) // 2)),
        chart_id=f"distribution-{assignment.pk}",
        marker=marker,
    )
    return mark_safe(svg)
