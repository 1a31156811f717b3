"""Calibration runs: estimate item parameters from the attempts collected so far.

A run is created (queued) by a teacher or by the nightly pilot check, executed by a Celery task
that reports progress on the row, and changes nothing in the bank until someone accepts it.

How the scale is kept: a test session is one "person". Items answered in the same sessions
that are not being calibrated and have known parameters are *anchors*, held fixed while the
selected items are estimated (:func:`dreamseed.cat.linking.calibrate_with_anchors`), so the new
parameters are on the bank's scale. That is always the case for pilot items seeded into live
tests. Only when the selected items are everything the sessions answered is there nothing to
anchor to; then the engine's free MML-EM (:func:`dreamseed.cat.calibration.calibrate`, ability
~ N(0, 1)) runs and its results are linked back by mean/sigma through the items' current
difficulties.
"""

import logging
import time

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, Q
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dreamseed.accounts.models import User
from dreamseed.cat.calibration import DEFAULT_MAX_SE, calibrate
from dreamseed.cat.calibration_poly import calibrate_poly
from dreamseed.cat.exceptions import CatError
from dreamseed.cat.linking import calibrate_with_anchors, mean_sigma, posterior_means, rescale
from dreamseed.cat.polytomous import make_bank
from dreamseed.itembank.kinds import max_score
from dreamseed.itembank.models import (
    POLYTOMOUS_MODELS,
    BankRevision,
    CalibrationKind,
    CalibrationMethod,
    CalibrationResult,
    CalibrationRun,
    CalibrationStatus,
    Item,
    ItemStatus,
)

logger = logging.getLogger(__name__)

#: Responses per item a run asks for by default, and the least it accepts, by model. With
#: fewer, the estimates are mostly noise: about 100 answers pin a Rasch difficulty to within
#: +-0.2-0.3 logits; a 2PL slope needs a few hundred; the 3PL's guessing parameter is only
#: identified by many answers from low-ability students, so it needs more again.
DEFAULT_MIN_RESPONSES_BY_MODEL = {"1PL": 100, "2PL": 250, "3PL": 500}
MIN_RESPONSES_FLOOR_BY_MODEL = {"1PL": 50, "2PL": 100, "3PL": 200}
DEFAULT_MIN_RESPONSES = DEFAULT_MIN_RESPONSES_BY_MODEL["3PL"]
MIN_RESPONSES_FLOOR = min(MIN_RESPONSES_FLOOR_BY_MODEL.values())
#: Standard-error limits a teacher may set: never looser than these.
DEFAULT_MAX_SE_A, DEFAULT_MAX_SE_B, MAX_SE_C = DEFAULT_MAX_SE
LOOSEST_MAX_SE_A = 1.5
LOOSEST_MAX_SE_B = 1.0
MAX_ITEMS_PER_RUN = 3000
#: Observed proportions for the plots: ability groups of this width, shown with >= this many.
OBSERVED_BIN_WIDTH = 0.5
OBSERVED_RANGE = (-4.0, 4.0)
OBSERVED_MIN_COUNT = 5
#: Progress is written to the row at most this often.
PROGRESS_INTERVAL_SECONDS = 0.3
# Stages are stored untranslated and translated when shown.
STAGE_LOADING = gettext_noop("Loading responses")
STAGE_ESTIMATING = gettext_noop("Estimating parameters")
STAGE_SAVING = gettext_noop("Saving results")
STAGE_DONE = gettext_noop("Done")


class CalibrationCancelled(Exception):
    """The run was discarded while it was running."""


class CalibrationDataError(Exception):
    """There is nothing (usable) to calibrate from; the message says what is missing."""


# --- Starting, retrying, discarding, accepting ---------------------------------------------------


def pilot_items_ready(*, min_responses: int):
    """Pilot items with at least `min_responses` answers."""
    return (
        Item.objects.filter(status=ItemStatus.PILOT)
        .annotate(answered=Count("attempts"))
        .filter(answered__gte=min_responses)
    )


def min_responses_error(*, model: str, min_responses: int) -> str | None:
    """Why `min_responses` is too low for `model`, or None."""
    floor = MIN_RESPONSES_FLOOR_BY_MODEL.get(model, MIN_RESPONSES_FLOOR)
    if min_responses >= floor:
        return None
    return _(
        "A %(model)s calibration needs at least %(n)s responses per item: with fewer, the "
        "estimates are mostly noise."
    ) % {"model": model, "n": floor}


@transaction.atomic
def calibration_run_create(
    *,
    kind: str,
    model: str,
    created_by: User | None,
    min_responses: int | None = None,
    max_se_a: float | None = None,
    max_se_b: float | None = None,
    items=None,
) -> CalibrationRun:
    """Queue a run; its task starts once this transaction commits.

    ``min_responses``, ``max_se_a`` and ``max_se_b`` default to the model's recommended
    values; lower minimums and looser limits than the floors are refused.
    """
    if min_responses is None:
        min_responses = DEFAULT_MIN_RESPONSES_BY_MODEL.get(model, DEFAULT_MIN_RESPONSES)
    max_se_a = DEFAULT_MAX_SE_A if max_se_a is None else max_se_a
    max_se_b = DEFAULT_MAX_SE_B if max_se_b is None else max_se_b
    problem = min_responses_error(model=model, min_responses=min_responses)
    if problem:
        raise ValidationError({"min_responses": problem})
    if not 0 < max_se_a <= LOOSEST_MAX_SE_A:
        raise ValidationError(
            {"max_se_a": _("Use a limit above 0 and at most %(n)s.") % {"n": LOOSEST_MAX_SE_A}}
        )
    if not 0 < max_se_b <= LOOSEST_MAX_SE_B:
        raise ValidationError(
            {"max_se_b": _("Use a limit above 0 and at most %(n)s.") % {"n": LOOSEST_MAX_SE_B}}
        )
    if (
        CalibrationRun.objects.select_for_update()
        .filter(status__in=CalibrationRun.OPEN_STATUSES)
        .exists()
    ):
        raise ValidationError(
            _("Another calibration is running. Wait for it to finish, then start this one.")
        )
    if kind == CalibrationKind.PILOT:
        selected = list(pilot_items_ready(min_responses=min_responses))
        if not selected:
            raise ValidationError(
                _(
                    "No pilot item has %(n)s responses yet. "
                    "Try again when more students have taken tests."
                )
                % {"n": min_responses}
            )
    else:
        selected = list(items or [])
        if not selected:
            raise ValidationError(_("Choose at least one item to calibrate."))
    if len(selected) > MAX_ITEMS_PER_RUN:
        raise ValidationError(
            _("Calibrate at most %(n)s items at a time.") % {"n": MAX_ITEMS_PER_RUN}
        )
    run = CalibrationRun.objects.create(
        kind=kind,
        model=model,
        min_responses=min_responses,
        max_se_a=max_se_a,
        max_se_b=max_se_b,
        created_by=created_by,
    )
    CalibrationResult.objects.bulk_create(
        [
            CalibrationResult(
                run=run,
                item=item,
                old_status=item.status,
                old_model=item.model,
                old_a=item.a,
                old_b=item.b,
                old_c=item.c,
                old_d=item.d,
                old_se_a=item.se_a,
                old_se_b=item.se_b,
                old_se_c=item.se_c,
                old_steps=list(item.steps),
            )
            for item in selected
        ]
    )
    _enqueue(run)
    return run


def _enqueue(run: CalibrationRun) -> None:
    from dreamseed.itembank.tasks import calibration_run_execute
    from dreamseed.outbox.services import outbox_enqueue

    # Through the outbox: kept and sent later if the broker is down.
    outbox_enqueue(calibration_run_execute, run.pk)


@transaction.atomic
def calibration_run_retry(*, run: CalibrationRun) -> None:
    updated = CalibrationRun.objects.filter(pk=run.pk, status=CalibrationStatus.FAILED).update(
        status=CalibrationStatus.QUEUED, progress=0, stage="", error="", finished_at=None
    )
    if not updated:
        raise ValidationError(_("Only a failed calibration can be retried."))
    _enqueue(run)


@transaction.atomic
def calibration_run_discard(*, run: CalibrationRun, user: User) -> None:
    updated = (
        CalibrationRun.objects.filter(pk=run.pk)
        .exclude(status__in=(CalibrationStatus.ACCEPTED, CalibrationStatus.DISCARDED))
        .update(status=CalibrationStatus.DISCARDED, decided_at=timezone.now(), accepted_by=user)
    )
    if not updated:
        raise ValidationError(_("This calibration was already accepted or discarded."))


@transaction.atomic
def calibration_run_accept(
    *,
    run: CalibrationRun,
    accepted_by: User,
    promote_pilots: bool = False,
    result_ids: list[int] | None = None,
) -> int:
    """Apply the new parameters (and SEs) of the chosen items, all at once; returns how many.

    ``result_ids`` are the run's results to apply; None means the ones the review page
    pre-selects (passed every check, no drift). Only estimates with an empty flag can be
    applied: one that did not converge, sits on a bound or has too large a standard error is
    refused, by name. Sessions already running keep scoring with the parameters they started
    with (attempts store theirs); new sessions use the new ones (BankRevision is bumped).
    Refused if an item's parameters changed since the run started: its estimates were made
    against the old ones.
    """
    run = CalibrationRun.objects.select_for_update().get(pk=run.pk)
    if run.status != CalibrationStatus.SUCCEEDED:
        raise ValidationError(_("Only a finished calibration waiting for review can be accepted."))
    everything = list(run.results.select_related("item"))
    if result_ids is None:
        results = [r for r in everything if r.is_applicable and not r.has_drift]
    else:
        wanted = set(result_ids)
        results = [r for r in everything if r.pk in wanted]
        refused = sorted(r.item.external_id for r in results if not r.is_applicable)
        if refused:
            raise ValidationError(
                _(
                    "These items' estimates did not pass the checks and cannot be "
                    "applied: %(items)s."
                )
                % {"items": ", ".join(refused[:10]) + ("…" if len(refused) > 10 else "")}
            )
    if not results:
        raise ValidationError(_("Choose at least one item whose new parameters to apply."))
    items = Item.objects.select_for_update().in_bulk([result.item_id for result in results])
    stale = [
        items[result.item_id].external_id
        for result in results
        if (items[result.item_id].a, items[result.item_id].b, items[result.item_id].c,
            items[result.item_id].d) != result.old_parameters
        or list(items[result.item_id].steps) != list(result.old_steps)
    ]  # fmt: skip
    if stale:
        raise ValidationError(
            _(
                "Since this calibration started, the parameters of %(items)s changed. "
                "Start a new calibration."
            )
            % {"items": ", ".join(sorted(stale)[:10]) + ("…" if len(stale) > 10 else "")}
        )
    changed = []
    for result in results:
        item = items[result.item_id]
        item.a, item.b, item.c, item.d = result.new_parameters
        item.se_a, item.se_b, item.se_c = result.se_a, result.se_b, result.se_c
        if item.model in POLYTOMOUS_MODELS:
            item.steps = list(result.new_steps)  # a GPCM/GRM item keeps its model
        else:
            item.model = run.model
        if promote_pilots and item.status == ItemStatus.PILOT:
            item.status = ItemStatus.ACTIVE
        item.updated = timezone.now()
        changed.append(item)
    Item.objects.bulk_update(
        changed,
        ["a", "b", "c", "d", "se_a", "se_b", "se_c", "model", "steps", "status", "updated"],
    )
    run.status = CalibrationStatus.ACCEPTED
    run.accepted_by = accepted_by
    run.decided_at = timezone.now()
    run.save(update_fields=["status", "accepted_by", "decided_at"])
    BankRevision.bump()
    return len(changed)


# --- Executing -----------------------------------------------------------------------------------


class _Progress:
    """Writes progress to the row now and then, and notices a discard."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.last_write = 0.0

    def set(self, percent: int, stage: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_INTERVAL_SECONDS:
            return
        self.last_write = now
        fields = {"progress": max(1, min(99, int(percent)))}
        if stage:
            fields["stage"] = stage
        updated = CalibrationRun.objects.filter(
            pk=self.run_id, status=CalibrationStatus.RUNNING
        ).update(**fields)
        if not updated:
            raise CalibrationCancelled

    def em_cycle(self, iteration: int, max_iterations: int) -> None:
        # EM usually converges in tens of cycles, not max_iterations: approach 90% smoothly.
        self.set(10 + 80 * (1 - 0.93**iteration))


def calibration_run_execute(*, run_id: int) -> bool:
    """The task's body. Safe to run twice: only a queued (or interrupted running) run runs."""
    claimed = CalibrationRun.objects.filter(
        pk=run_id, status__in=CalibrationRun.OPEN_STATUSES
    ).update(
        status=CalibrationStatus.RUNNING,
        started_at=timezone.now(),
        progress=1,
        stage=STAGE_LOADING,
        error="",
    )
    if not claimed:
        return False
    run = CalibrationRun.objects.get(pk=run_id)
    try:
        _execute(run, _Progress(run_id))
    except CalibrationCancelled:
        return False
    except (CalibrationDataError, CatError) as error:
        _fail(run_id, str(error))
    except Exception as error:
        logger.exception("calibration run %s failed", run_id)
        _fail(
            run_id,
            _("Unexpected error (%(kind)s). Try again; if it repeats, tell your administrator.")
            % {"kind": type(error).__name__},
        )
    return True


def _fail(run_id: int, message: str) -> None:
    CalibrationRun.objects.filter(pk=run_id, status=CalibrationStatus.RUNNING).update(
        status=CalibrationStatus.FAILED, error=message, finished_at=timezone.now()
    )


def _load_responses(selected_ids: list[int]):
    """Every answer in every session that answered a selected item, as long-format arrays."""
    from dreamseed.assessments.models import Attempt

    sessions = Attempt.objects.filter(item_id__in=selected_ids).values("session_id")
    rows = np.array(
        Attempt.objects.filter(session_id__in=sessions).values_list(
            "session_id", "item_id", "correct"
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    return rows[:, 0], rows[:, 1], rows[:, 2].astype(np.int8)


def _execute(run: CalibrationRun, progress: _Progress) -> None:
    results = {result.item_id: result for result in run.results.all()}
    selected_ids = list(results)
    if _has_partial_credit(selected_ids):
        _execute_mixed(run, progress, results)
        return
    session_ids, item_ids, answers = _load_responses(selected_ids)
    if len(answers) == 0:
        raise CalibrationDataError(_("None of these items has been answered yet."))
    progress.set(5, STAGE_LOADING, force=True)

    bank = {
        pk: (a, b, c, d)
        for pk, a, b, c, d in Item.objects.filter(pk__in=np.unique(item_ids).tolist()).values_list(
            "pk", "a", "b", "c", "d"
        )
    }
    # Pilot items outside this run have no parameters yet: their answers cannot help.
    selected = set(selected_ids)
    usable = np.isin(
        item_ids, [pk for pk, row in bank.items() if row[1] is not None or pk in selected]
    )
    session_ids, item_ids, answers = session_ids[usable], item_ids[usable], answers[usable]
    unique_items, item_idx = np.unique(item_ids, return_inverse=True)
    unique_sessions, person_idx = np.unique(session_ids, return_inverse=True)
    free = np.isin(unique_items, selected_ids)
    params = np.array(
        [bank[pk] if bank[pk][1] is not None else (np.nan,) * 4 for pk in unique_items.tolist()],
        dtype=float,
    )
    anchors_answered = np.unique(item_idx[~free[item_idx]])
    progress.set(10, STAGE_ESTIMATING, force=True)

    summary = {"n_persons": len(unique_sessions), "n_responses": len(answers)}
    if len(anchors_answered):
        outcome = calibrate_with_anchors(
            person_idx,
            item_idx,
            answers,
            params=params,
            free=free,
            model=run.model,
            n_persons=len(unique_sessions),
            min_responses=run.min_responses,
            max_se=(run.max_se_a, run.max_se_b, MAX_SE_C),
            progress=progress.em_cycle,
        )
        estimates, se, flags, n_responses = (
            outcome.params,
            outcome.se,
            outcome.flags,
            outcome.n_responses,
        )
        theta = outcome.theta
        summary.update(
            method=CalibrationMethod.ANCHORED,
            n_anchors=len(anchors_answered),
            iterations=outcome.iterations,
            converged=outcome.converged,
            population_mean=outcome.population_mean,
            population_sd=outcome.population_sd,
        )
    else:
        outcome = calibrate(
            person_idx,
            item_idx,
            answers,
            n_items=len(unique_items),
            n_persons=len(unique_sessions),
            model=run.model,
            min_responses=run.min_responses,
            max_se=(run.max_se_a, run.max_se_b, MAX_SE_C),
        )
        estimates, se, flags, n_responses = (
            outcome.params,
            outcome.se,
            outcome.flags,
            outcome.n_responses,
        )
        summary.update(
            n_anchors=0, iterations=outcome.iterations, converged=outcome.converged,
            method=CalibrationMethod.FREE_UNLINKED,
        )  # fmt: skip
        # Link through the items whose estimates passed the checks only.
        usable = np.array([flag == "" for flag in flags], dtype=bool)
        common = np.isfinite(params[:, 1]) & np.isfinite(estimates[:, 1]) & free & usable
        if common.sum() >= 2 and np.std(estimates[common, 1]) > 0 and np.std(params[common, 1]) > 0:
            slope, intercept = mean_sigma(params[common, 1], estimates[common, 1])
            estimates, se = rescale(estimates, se, slope=slope, intercept=intercept)
            summary.update(
                method=CalibrationMethod.FREE,
                link_slope=slope,
                link_intercept=intercept,
                population_mean=intercept,
                population_sd=slope,
            )
        theta, _sd = posterior_means(
            person_idx,
            item_idx,
            answers,
            params=np.where(np.isfinite(estimates), estimates, np.nan),
            n_persons=len(unique_sessions),
            mean=summary.get("population_mean", 0.0),
            sd=summary.get("population_sd", 1.0),
        )
    progress.set(92, STAGE_SAVING, force=True)
    observed = _observed_proportions(person_idx, item_idx, answers, theta, np.flatnonzero(free))
    _save(run, results, unique_items, free, estimates, se, flags, n_responses, observed, summary)


# --- Mixed banks (partial credit) ----------------------------------------------------------------


def _has_partial_credit(selected_ids: list[int]) -> bool:
    """Whether the run's sessions answered a GPCM/GRM item: then the mixed-bank engine
    (dreamseed.cat.calibration_poly) calibrates, dichotomous items alongside."""
    from dreamseed.assessments.models import Attempt

    sessions = Attempt.objects.filter(item_id__in=selected_ids).values("session_id")
    return (
        Item.objects.filter(pk__in=selected_ids, model__in=POLYTOMOUS_MODELS).exists()
        or Attempt.objects.filter(
            session_id__in=sessions, item__model__in=POLYTOMOUS_MODELS
        ).exists()
    )


def _load_scores(selected_ids: list[int]):
    """Like _load_responses, with points: a partial-credit answer's score (0/1 for the others,
    whose attempts may predate scores); answers still waiting for a teacher are left out."""
    from dreamseed.assessments.models import Attempt
    from dreamseed.assessments.selectors import RUBRIC_ITEM

    sessions = Attempt.objects.filter(item_id__in=selected_ids).values("session_id")
    rows = np.array(
        Attempt.objects.filter(session_id__in=sessions)
        .exclude(RUBRIC_ITEM & Q(score__isnull=True))
        .annotate(points=Coalesce("score", Cast("correct", IntegerField())))
        .values_list("session_id", "item_id", "points"),
        dtype=np.int64,
    ).reshape(-1, 3)
    return rows[:, 0], rows[:, 1], rows[:, 2]


def _execute_mixed(run: CalibrationRun, progress: _Progress, results: dict) -> None:
    """Calibrate selected items of a bank with GPCM/GRM items: free items estimated with their
    own polytomous model (dichotomous ones with the run's model), the other answered items
    held fixed as anchors (the ability distribution is then estimated, so the new parameters
    are on the bank's scale); without anchors, ability is N(0, 1)."""
    selected_ids = list(results)
    session_ids, item_ids, scores = _load_scores(selected_ids)
    if len(scores) == 0:
        raise CalibrationDataError(_("None of these items has been answered yet."))
    progress.set(5, STAGE_LOADING, force=True)
    rows = {
        pk: (model, a, b, c, d, list(steps), kind, answer)
        for pk, model, a, b, c, d, steps, kind, answer in Item.objects.filter(
            pk__in=np.unique(item_ids).tolist()
        ).values_list(
            "pk", "model", "a", "b", "c", "d", "steps", "current_version__kind",
            "current_version__answer",
        )
    }  # fmt: skip
    selected = set(selected_ids)

    def known(pk):
        model, _a, b, *_rest = rows[pk]
        return bool(rows[pk][5]) if model in POLYTOMOUS_MODELS else b is not None

    usable = np.isin(item_ids, [pk for pk in rows if known(pk) or pk in selected])
    session_ids, item_ids, scores = session_ids[usable], item_ids[usable], scores[usable]
    unique_items, item_idx = np.unique(item_ids, return_inverse=True)
    unique_sessions, person_idx = np.unique(session_ids, return_inverse=True)
    free = np.isin(unique_items, selected_ids)
    models, categories, thresholds, anchor_models = [], [], [], []
    for index, pk in enumerate(unique_items.tolist()):
        model, _a, b, _c, _d, steps, kind, answer = rows[pk]
        polytomous = model in POLYTOMOUS_MODELS
        if polytomous:
            m = len(steps) or max(1, max_score(kind or "single", answer))
            models.append(model)
            anchor_models.append(model)
            thresholds.append(steps if not free[index] else list(np.linspace(-1, 1, m)))
        else:
            models.append(run.model if free[index] else "3PL")
            anchor_models.append("4PL")
            thresholds.append([b if b is not None and not free[index] else 0.0])
        categories.append(len(thresholds[-1]) + 1)
    # Scores above an item's maximum cannot come from the item as written now.
    fits = scores < np.asarray(categories)[item_idx]
    person_idx, item_idx, scores = person_idx[fits], item_idx[fits], scores[fits]
    anchors_answered = np.unique(item_idx[~free[item_idx]])
    progress.set(10, STAGE_ESTIMATING, force=True)
    anchored = len(anchors_answered) > 0
    anchors = None
    if anchored:
        fixed_rows = [rows[pk] for pk in unique_items.tolist()]
        anchors = make_bank(
            [row[1] if not free[i] else 1.0 for i, row in enumerate(fixed_rows)],
            thresholds,
            anchor_models,
            c=[0.0 if free[i] or row[0] in POLYTOMOUS_MODELS else row[3]
               for i, row in enumerate(fixed_rows)],
            d=[1.0 if free[i] or row[0] in POLYTOMOUS_MODELS else row[4]
               for i, row in enumerate(fixed_rows)],
        )  # fmt: skip
    outcome = calibrate_poly(
        person_idx,
        item_idx,
        scores,
        models=models,
        n_items=len(unique_items),
        n_persons=len(unique_sessions),
        n_categories=categories,
        anchors=anchors,
        fixed=~free if anchored else None,
        min_responses=run.min_responses,
        max_se=(run.max_se_a, run.max_se_b, MAX_SE_C),
    )
    summary = {
        "n_persons": len(unique_sessions),
        "n_responses": len(scores),
        "n_anchors": len(anchors_answered),
        "iterations": outcome.iterations,
        "converged": outcome.converged,
        "method": CalibrationMethod.ANCHORED if anchored else CalibrationMethod.FREE_UNLINKED,
    }
    if anchored:
        summary.update(population_mean=outcome.population_mean, population_sd=outcome.population_sd)
    estimates, se, steps = _mixed_estimates(outcome, models)
    progress.set(92, STAGE_SAVING, force=True)
    _save(
        run, results, unique_items, free, estimates, se, outcome.flags, outcome.n_responses, {},
        summary, steps=steps,
    )  # fmt: skip


def _mixed_estimates(outcome, models):
    """[a, b, c, d] and SEs per item as the result rows keep them (a GPCM/GRM item's b is the
    mean of its steps, with the SE of that mean, covariances left out), and the steps."""
    n = len(models)
    estimates = np.full((n, 4), np.nan)
    se = np.full((n, 3), np.nan)
    steps = {}
    for index, model in enumerate(models):
        m = int(outcome.n_categories[index]) - 1
        row = outcome.thresholds[index, :m]
        row_se = outcome.se_thresholds[index, :m]
        if model in POLYTOMOUS_MODELS:
            location, location_se = np.mean(row), np.sqrt(np.sum(row_se**2)) / m
            steps[index] = [round(float(value), 6) for value in row]
            c = 0.0
        else:
            location, location_se, c = row[0], row_se[0], outcome.c[index]
        estimates[index] = (outcome.a[index], location, c, 1.0)
        se[index] = (outcome.se_a[index], location_se, outcome.se_c[index])
    return estimates, se, steps


def _observed_proportions(person_idx, item_idx, answers, theta, free_indices):
    """{item index: [[theta, proportion correct, n], ...]} by ability group, for the plots."""
    low, high = OBSERVED_RANGE
    n_bins = round((high - low) / OBSERVED_BIN_WIDTH)
    wanted = np.isin(item_idx, free_indices) & np.isfinite(theta[person_idx])
    person, item, answer = person_idx[wanted], item_idx[wanted], answers[wanted]
    bins = np.clip(((theta[person] - low) / OBSERVED_BIN_WIDTH).astype(int), 0, n_bins - 1)
    key = item * n_bins + bins
    size = (int(item_idx.max()) + 1) * n_bins
    counts = np.bincount(key, minlength=size).reshape(-1, n_bins)
    correct = np.bincount(key, weights=answer, minlength=size).reshape(-1, n_bins)
    centres = low + OBSERVED_BIN_WIDTH * (np.arange(n_bins) + 0.5)
    observed = {}
    for index in free_indices.tolist():  # one small list per calibrated item, vectorised inside
        shown = counts[index] >= OBSERVED_MIN_COUNT
        observed[index] = [
            [round(float(t), 3), round(float(c / n), 4), int(n)]
            for t, c, n in zip(
                centres[shown], correct[index][shown], counts[index][shown], strict=True
            )
        ]
    return observed


def _number(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


@transaction.atomic
def _save(
    run, results, unique_items, free, estimates, se, flags, n_responses, observed, summary,
    *, steps=None,
):  # fmt: skip
    locked = CalibrationRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != CalibrationStatus.RUNNING:
        raise CalibrationCancelled
    index_of = {pk: index for index, pk in enumerate(unique_items.tolist())}
    for item_id, result in results.items():
        index = index_of.get(item_id)
        if index is None or not free[index]:  # selected but never answered
            result.n_responses = 0
            result.flag = "too_few_responses"
            result.new_a = result.new_b = result.new_c = result.new_d = None
            result.se_a = result.se_b = result.se_c = None
            result.observed = []
            continue
        result.n_responses = int(n_responses[index])
        result.flag = flags[index]
        result.new_a, result.new_b, result.new_c, result.new_d = (
            _number(value) for value in estimates[index]
        )
        if result.new_b is None:
            result.new_a = result.new_c = result.new_d = None
        result.se_a, result.se_b, result.se_c = (_number(value) for value in se[index])
        result.observed = observed.get(index, [])
        result.new_steps = (steps or {}).get(index, []) if result.new_b is not None else []
    CalibrationResult.objects.bulk_update(
        results.values(),
        [
            "n_responses",
            "flag",
            "new_a",
            "new_b",
            "new_c",
            "new_d",
            "se_a",
            "se_b",
            "se_c",
            "observed",
            "new_steps",
        ],
        batch_size=1000,
    )
    locked.n_estimated = sum(1 for result in results.values() if result.is_estimated)
    locked.n_usable = sum(1 for result in results.values() if result.is_applicable)
    for name, value in summary.items():
        setattr(locked, name, value)
    locked.status = CalibrationStatus.SUCCEEDED
    locked.progress = 100
    locked.stage = STAGE_DONE
    locked.finished_at = timezone.now()
    locked.save()
