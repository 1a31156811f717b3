"""Item statistics from the attempts of a recent period, in one SQL statement.

Per item: responses, p-value (proportion correct), point-biserial (the correlation between
answering this item correctly and the rest of the session's score on scored items, from a
window sum over each session), mean response time, exposure rate (sessions that saw the item /
sessions in the period) and a fit check: the observed p-value against the mean model-expected
probability :math:`P_i(\\theta)` with the item's current parameters at each student's ability
before the item (after it, if the engine recorded no "before").

In an adaptive test everyone answers about half their items correctly, so the point-biserial
against the raw session score is attenuated compared with a fixed form; read it as a sign
check (negative = suspect key) rather than a discrimination estimate.

Item fit, for items with parameters, from the scored answers of the period with the items'
current parameters (:mod:`dreamseed.cat.itemfit`): Orlando-Thissen S-X2 with its p-value,
the adaptive-data fit check (each answer against its probability given the earlier ones),
and infit/outfit mean squares at each session's ability estimate. An item is flagged
``misfit`` when the adaptive fit check rejects it, a mean square is out of range, or the
observed p-value is far from the expected one; S-X2 is shown, not used for the flag, because on
adaptive data it rejects most items that fit.
"""

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.html import strip_tags

from dreamseed.cat.itemfit import mean_squares, prequential_fit, s_x2
from dreamseed.itembank.kinds import (
    TRUE_FALSE_KEYS,
    ItemKind,
    numeric_split,
    response_display,
    text_normalise,
    true_false_label,
)
from dreamseed.itembank.models import (
    FIT_P_LIMIT,
    MEAN_SQUARE_RANGE,
    POLYTOMOUS_MODELS,
    Item,
    ItemStatistics,
)

#: Attempts older than this are left out.
STATISTICS_PERIOD_DAYS = getattr(settings, "ITEMBANK_STATISTICS_DAYS", 365)
#: |observed p - expected p| above this, with enough responses, flags an item as misfitting.
FIT_THRESHOLD = getattr(settings, "ITEMBANK_FIT_THRESHOLD", 0.10)
FIT_MIN_RESPONSES = getattr(settings, "ITEMBANK_FIT_MIN_RESPONSES", 50)
#: Logits beyond which exp() would overflow in PostgreSQL.
_Z_LIMIT = 35

_FIELDS = (
    "n_responses", "n_correct", "p_value", "point_biserial", "mean_response_time_ms",
    "n_sessions", "exposure_rate", "expected_p", "misfit", "period_start", "computed_at",
    "s_x2", "s_x2_df", "s_x2_p", "fit_x2", "fit_df", "fit_p", "infit", "outfit",
)  # fmt: skip
#: Parameters each model estimates (degrees of freedom lost per item).
_N_ESTIMATED = {"1PL": 1, "2PL": 2, "3PL": 3, "4PL": 4}


def _statistics_sql() -> str:
    from dreamseed.assessments.models import Attempt

    attempt, item = Attempt._meta.db_table, Item._meta.db_table
    # GPCM/GRM items: the p-value is the share of full credit; the right/wrong model's expected
    # p (and the fit statistics, see _item_fit) do not apply to them.
    polytomous = ", ".join(f"'{model}'" for model in POLYTOMOUS_MODELS)
    return f"""
        WITH scored AS (
            SELECT a.item_id, a.session_id, a.is_pilot, a.response_time_ms,
                   a.correct::int AS u,
                   COALESCE(a.theta_before, a.theta_after) AS theta,
                   SUM(CASE WHEN a.is_pilot THEN 0 ELSE a.correct::int END)
                       OVER (PARTITION BY a.session_id) AS total
            FROM {attempt} a
            WHERE a.created >= %(since)s
        )
        SELECT s.item_id,
               COUNT(*),
               SUM(s.u),
               AVG(s.u::float),
               CORR(s.u::float, (s.total - CASE WHEN s.is_pilot THEN 0 ELSE s.u END)::float),
               AVG(s.response_time_ms::float),
               COUNT(DISTINCT s.session_id),
               AVG(CASE WHEN i.b IS NULL OR s.theta IS NULL OR i.model IN ({polytomous})
                   THEN NULL ELSE
                   i.c + (i.d - i.c) / (1 + EXP(-LEAST(GREATEST(i.a * (s.theta - i.b),
                                                                 -{_Z_LIMIT}), {_Z_LIMIT})))
               END)
        FROM scored s JOIN {item} i ON i.id = s.item_id
        GROUP BY s.item_id
    """


def _session_count_sql() -> str:
    from dreamseed.assessments.models import Attempt

    return (
        f"SELECT COUNT(DISTINCT session_id) FROM {Attempt._meta.db_table} "
        "WHERE created >= %(since)s"
    )


@transaction.atomic
def item_statistics_compute(*, now=None, days: int = STATISTICS_PERIOD_DAYS) -> int:
    """Recompute every item's statistics; returns how many items have attempts."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(_session_count_sql(), {"since": since})
        sessions = cursor.fetchone()[0] or 0
        cursor.execute(_statistics_sql(), {"since": since})
        rows = cursor.fetchall()
    fit = _item_fit(since)
    statistics = []
    for item_id, n, n_correct, p, r_pb, rt, n_sessions, expected in rows:
        item_fit = fit.get(item_id, {})
        misfit = bool(
            expected is not None and n >= FIT_MIN_RESPONSES and abs(p - expected) > FIT_THRESHOLD
        ) or bool(
            n >= FIT_MIN_RESPONSES
            and (
                (item_fit.get("fit_p") is not None and item_fit["fit_p"] < FIT_P_LIMIT)
                or any(
                    item_fit.get(name) is not None
                    and not MEAN_SQUARE_RANGE[0] <= item_fit[name] <= MEAN_SQUARE_RANGE[1]
                    for name in ("infit", "outfit")
                )
            )
        )
        statistics.append(
            ItemStatistics(
                item_id=item_id,
                n_responses=n,
                n_correct=n_correct,
                p_value=p,
                point_biserial=r_pb,
                mean_response_time_ms=rt,
                n_sessions=n_sessions,
                exposure_rate=n_sessions / sessions if sessions else None,
                expected_p=expected,
                misfit=misfit,
                period_start=since,
                computed_at=now,
                **item_fit,
            )
        )
    ItemStatistics.objects.exclude(item_id__in=[row.item_id for row in statistics]).delete()
    ItemStatistics.objects.bulk_create(
        statistics,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=list(_FIELDS),
    )
    return len(statistics)


def _number(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _item_fit(since) -> dict[int, dict]:
    """{item id: fit fields} for items with parameters, from the period's scored answers."""
    from dreamseed.assessments.models import Attempt

    rows = list(
        Attempt.objects.filter(
            created__gte=since, is_pilot=False, item__b__isnull=False, session__theta__isnull=False
        )
        .exclude(item__model__in=list(POLYTOMOUS_MODELS))
        .values_list("session_id", "item_id", "correct", "position", "session__theta")
    )
    if not rows:
        return {}
    data = np.array(rows, dtype=float)
    _sessions, person = np.unique(data[:, 0].astype(np.int64), return_inverse=True)
    item_ids, item = np.unique(data[:, 1].astype(np.int64), return_inverse=True)
    answer, position, theta = data[:, 2].astype(np.int8), data[:, 3], data[:, 4]
    parameters = {
        pk: (a, b, c, d, model)
        for pk, a, b, c, d, model in Item.objects.filter(pk__in=item_ids.tolist()).values_list(
            "pk", "a", "b", "c", "d", "model"
        )
    }
    params = np.array([parameters[pk][:4] for pk in item_ids.tolist()], dtype=float)
    estimated = np.array([_N_ESTIMATED.get(parameters[pk][4], 3) for pk in item_ids.tolist()])
    sx2, sx2_df, sx2_p = s_x2(person, item, answer, params, n_estimated=estimated)
    fx2, f_df, f_p = prequential_fit(person, item, answer, position, params, n_estimated=estimated)
    infit, outfit = mean_squares(theta, item, answer, params)
    return {
        int(pk): {
            "s_x2": _number(sx2[k]),
            "s_x2_df": int(sx2_df[k]) or None,
            "s_x2_p": _number(sx2_p[k]),
            "fit_x2": _number(fx2[k]),
            "fit_df": int(f_df[k]) or None,
            "fit_p": _number(f_p[k]),
            "infit": _number(infit[k]),
            "outfit": _number(outfit[k]),
        }
        for k, pk in enumerate(item_ids.tolist())
    }


# --- Answers given to one item (the item page) ---------------------------------------------------

#: Most common wrong answers listed for a typed or ordering item.
WRONG_ANSWERS_SHOWN = 5
#: Distinct typed answers read from the database per item (the most frequent first).
_DISTINCT_READ = 500


@dataclass
class OptionCount:
    key: str
    text: str
    count: int
    share: float | None
    correct: bool


@dataclass
class AnswerCount:
    answer: str
    count: int
    share: float | None


@dataclass
class ResponseAnalysis:
    """What students answered to one version of an item: how often each option was chosen
    (single choice, multiple select, true/false), or its most common wrong answers (numeric,
    short text, ordering). An extended item's answers are read, not counted."""

    kind: str
    total: int
    options: list[OptionCount]
    wrong: list[AnswerCount]


def item_response_analysis(*, version, statistics=None) -> ResponseAnalysis | None:
    """The answers to `version` (over the statistics' period when there is one); None for an
    extended item. Counts come from one grouped query; typed answers that differ only in case,
    spacing or accents (or, for numbers, in how the same number is written) count as one."""
    from dreamseed.assessments.models import Attempt

    if version is None or version.kind == ItemKind.EXTENDED:
        return None
    attempts = Attempt.objects.filter(item_version=version)
    if statistics is not None:
        attempts = attempts.filter(created__gte=statistics.period_start)
    choice_kind = version.kind in (ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.TRUE_FALSE)
    if not choice_kind:
        attempts = attempts.filter(correct=False)
    groups = list(
        attempts.values_list("selected_choice")
        .annotate(n=Count("pk"))
        .order_by("-n", "selected_choice")[:_DISTINCT_READ]
    )
    if choice_kind:
        total = sum(n for _response, n in groups)
        return ResponseAnalysis(version.kind, total, _option_counts(version, groups, total), [])
    everyone = Attempt.objects.filter(item_version=version)
    if statistics is not None:
        everyone = everyone.filter(created__gte=statistics.period_start)
    answered = everyone.count()
    return ResponseAnalysis(version.kind, answered, [], _wrong_answers(version, groups, answered))


def _option_counts(version, groups, total: int) -> list[OptionCount]:
    chosen: dict[str, int] = {}
    for response, n in groups:
        for key in set(response.split(",")) if version.kind == ItemKind.MULTIPLE else {response}:
            chosen[key] = chosen.get(key, 0) + n
    if version.kind == ItemKind.MULTIPLE:
        right = set((version.answer or {}).get("keys", []))
    else:
        right = {version.correct_key}
    options = (
        [(key, str(true_false_label(key))) for key in TRUE_FALSE_KEYS]
        if version.kind == ItemKind.TRUE_FALSE
        else [(option["key"], strip_tags(option["text"])) for option in version.options]
    )
    return [
        OptionCount(key, text, chosen.get(key, 0), chosen.get(key, 0) / total if total else None,
                    key in right)
        for key, text in options
    ]  # fmt: skip


def _wrong_answers(version, groups, answered: int) -> list[AnswerCount]:
    """The most common wrong answers, written as most students wrote them."""
    answer = version.answer or {}
    merged: dict[str, list] = {}  # normal form -> [count, {as written: count}]
    for response, n in groups:
        form = _normal_form(version.kind, answer, response)
        entry = merged.setdefault(form, [0, {}])
        entry[0] += n
        entry[1][response] = entry[1].get(response, 0) + n
    ranked = sorted(merged.values(), key=lambda entry: -entry[0])[:WRONG_ANSWERS_SHOWN]
    return [
        AnswerCount(
            response_display(version, max(written.items(), key=lambda item: item[1])[0]),
            count,
            count / answered if answered else None,
        )
        for count, written in ranked
    ]


def _normal_form(kind: str, answer, response: str) -> str:
    if kind == ItemKind.NUMERIC:
        number, unit = numeric_split(response)
        if number is not None:
            return f"{number!r} {text_normalise(unit, case_sensitive=False)}"
    if kind == ItemKind.TEXT:
        return text_normalise(response, case_sensitive=bool(answer.get("case_sensitive")))
    return response
