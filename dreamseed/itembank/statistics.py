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

from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dreamseed.cat.itemfit import mean_squares, prequential_fit, s_x2
from dreamseed.itembank.models import FIT_P_LIMIT, MEAN_SQUARE_RANGE, Item, ItemStatistics

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
               AVG(CASE WHEN i.b IS NULL OR s.theta IS NULL THEN NULL ELSE
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
        ).values_list("session_id", "item_id", "correct", "position", "session__theta")
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
