"""Item pools for adaptive tests, built once per (school, assessment, bank revision) and kept
in the process.

Building a pool precomputes the engine's tables (information order on a theta grid, response
log-likelihoods on the quadrature grid): milliseconds for a few hundred items, ~0.1 s for
thousands. Every answer request then costs one cache lookup and a few array operations. The
bank revision (bumped on any parameter or status change) makes a stale pool unreachable.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock

import numpy as np
from django.db import connection
from django.db.models import Q

from dreamseed.assessments.models import Assessment
from dreamseed.cat import ItemPool, PolyItemPool, StoppingRule, make_bank
from dreamseed.cat.simulation import sympson_hetter_calibrate
from dreamseed.itembank.models import (
    POLYTOMOUS_MODELS,
    BankRevision,
    Item,
    ItemStatus,
    ItemVersion,
)

MAX_CACHED_POOLS = 64
_cache: OrderedDict[tuple, "AssessmentPool"] = OrderedDict()
_lock = Lock()


@dataclass(frozen=True)
class AssessmentPool:
    engine: ItemPool
    item_ids: np.ndarray  # database id of pool index i
    version_ids: np.ndarray  # current ItemVersion id of pool index i
    index_of: dict[int, int]  # database id -> pool index
    pilot_item_ids: tuple[int, ...]  # pilot items (b unknown) that may be seeded, unscored
    pilot_version_ids: dict[int, int]
    revision: int = 0  # the bank revision these parameters are from
    # Rapid-guess thresholds (ms) by item id, for effort-moderated scoring; empty when off.
    rapid_threshold_ms: dict = field(default_factory=dict)
    # Partial credit: (model, steps) of each GPCM/GRM item by pool index (empty: a dichotomous
    # pool, whose engine is the plain ItemPool), and [a, b, c, d] of every item.
    polytomous: dict = field(default_factory=dict)
    params: np.ndarray | None = None

    def rapid_threshold(self, item_id: int) -> float:
        from dreamseed.assessments.engagement import RAPID_GUESS_DEFAULT_MS

        return self.rapid_threshold_ms.get(item_id, RAPID_GUESS_DEFAULT_MS)

    @property
    def size(self) -> int:
        return len(self.item_ids)


def pool_items_query(assessment):
    """The active, calibrated items an assessment draws from."""
    query = Item.objects.filter(
        status=ItemStatus.ACTIVE, b__isnull=False, current_version__isnull=False
    )
    return _apply_filters(query, assessment)


def _apply_filters(query, assessment):
    if assessment.subject:
        query = query.filter(subject__iexact=assessment.subject)
    if assessment.grade:
        query = query.filter(grade__iexact=assessment.grade)
    if assessment.content_areas:
        query = query.filter(content_area__in=assessment.content_areas)
    if assessment.irt_model:
        query = query.filter(model=assessment.irt_model)
    if assessment.b_min is not None:
        query = query.filter(Q(b__gte=assessment.b_min))
    if assessment.b_max is not None:
        query = query.filter(Q(b__lte=assessment.b_max))
    return query


def pool_for(assessment, *, revision: int | None = None) -> AssessmentPool:
    """The cached pool of `assessment` in the current school."""
    revision = BankRevision.current() if revision is None else revision
    key = (connection.schema_name, assessment.pk, assessment.updated.timestamp(), revision)
    with _lock:
        pool = _cache.get(key)
        if pool is not None:
            _cache.move_to_end(key)
            return pool
    pool = _build(assessment, revision)
    with _lock:
        _cache[key] = pool
        while len(_cache) > MAX_CACHED_POOLS:
            _cache.popitem(last=False)
    return pool


def _build(assessment, revision: int) -> AssessmentPool:
    rows = list(
        pool_items_query(assessment)
        .order_by("pk")
        .values_list(
            "pk", "current_version_id", "a", "b", "c", "d", "content_area", "model", "steps"
        )
    )
    item_ids = np.array([row[0] for row in rows], dtype=np.int64)
    version_ids = np.array([row[1] for row in rows], dtype=np.int64)
    params = np.array([row[2:6] for row in rows], dtype=float).reshape(-1, 4)
    content = [row[6] or "-" for row in rows]
    polytomous = {
        index: (row[7], tuple(row[8]))
        for index, row in enumerate(rows)
        if row[7] in POLYTOMOUS_MODELS and row[8]
    }
    pilots = list(
        _apply_filters(
            Item.objects.filter(status=ItemStatus.PILOT, current_version__isnull=False), assessment
        ).values_list("pk", "current_version_id")
    )
    ids = [str(pk) for pk in item_ids]
    if polytomous:
        engine = PolyItemPool(_bank(rows, params, polytomous), ids=ids, content=content)
    else:
        engine = ItemPool(params, ids=ids, content=content) if rows else None
    if engine is not None and assessment.exposure_control == "sympson-hetter":
        engine = engine.with_exposure_k(_sympson_hetter_k(engine, assessment))
    return AssessmentPool(
        engine=engine,
        item_ids=item_ids,
        version_ids=version_ids,
        index_of={int(pk): index for index, pk in enumerate(item_ids)},
        pilot_item_ids=tuple(pk for pk, _version in pilots),
        pilot_version_ids=dict(pilots),
        revision=revision,
        rapid_threshold_ms=_rapid_thresholds(item_ids) if assessment.effort_moderated else {},
        polytomous=polytomous,
        params=params,
    )


def _bank(rows, params: np.ndarray, polytomous: dict):
    """The engine's mixed bank: GPCM/GRM items with their steps, the others by [a, b, c, d]
    (named 4PL, the general form, so a stored slope is used as the plain pool would)."""
    models, thresholds = [], []
    for index in range(len(rows)):
        model, steps = polytomous.get(index, ("4PL", (params[index, 1],)))
        models.append(model)
        thresholds.append(list(steps))
    return make_bank(params[:, 0], thresholds, models, c=params[:, 2], d=params[:, 3])


def _rapid_thresholds(item_ids) -> dict[int, float]:
    """Each item's rapid-guess threshold from its current statistics (once per pool build)."""
    from dreamseed.assessments.engagement import rapid_guess_threshold
    from dreamseed.itembank.models import ItemStatistics

    means = dict(
        ItemStatistics.objects.filter(item_id__in=[int(pk) for pk in item_ids]).values_list(
            "item_id", "mean_response_time_ms"
        )
    )
    return {pk: rapid_guess_threshold(mean) for pk, mean in means.items()}


SH_MAX_EXPOSURE = 0.25  # no item in more than a quarter of sittings
SH_SIMULATED_EXAMINEES = 200


def _sympson_hetter_k(engine: ItemPool, assessment) -> np.ndarray:
    """Exposure parameters for this pool and test length, from a seeded simulation on a N(0, 1)
    population (Sympson & Hetter's iteration; about a second, once per pool revision)."""
    rng = np.random.default_rng(assessment.pk)
    thetas = rng.normal(0.0, 1.0, SH_SIMULATED_EXAMINEES)
    rules = StoppingRule(
        max_items=assessment.max_items,
        min_items=min(assessment.min_items, assessment.max_items),
        se_target=assessment.se_target,
    )
    return sympson_hetter_calibrate(engine, thetas, rules=rules, r_max=SH_MAX_EXPOSURE, rng=rng)


def pool_cache_clear() -> None:
    with _lock:
        _cache.clear()
        _versions.clear()
        _assessments.clear()


# --- Assessments for the answer path ------------------------------------------------------------

MAX_CACHED_ASSESSMENTS = 256
_assessments: OrderedDict[tuple, Assessment] = OrderedDict()


def assessment_at(assessment_id: int, updated) -> Assessment:
    """The assessment as of its `updated` stamp (which every save moves), from the process.

    The answer request reads the stamp together with the session row, so a teacher's edit
    is seen by the very next answer, while the blueprint itself is not re-read each time. Callers
    must not modify the returned object.
    """
    key = (connection.schema_name, assessment_id, updated)
    with _lock:
        assessment = _assessments.get(key)
        if assessment is not None:
            _assessments.move_to_end(key)
            return assessment
    assessment = Assessment.objects.get(pk=assessment_id)
    with _lock:
        _assessments[key] = assessment
        while len(_assessments) > MAX_CACHED_ASSESSMENTS:
            _assessments.popitem(last=False)
    return assessment


# --- Item versions for display -------------------------------------------------------------------

VERSION_CACHE_SECONDS = 300
MAX_CACHED_VERSIONS = 20000
_versions: OrderedDict[tuple, tuple[float, ItemVersion]] = OrderedDict()


def version_for_display(version_id: int) -> ItemVersion:
    """An item version to show, from a per-process cache: a version's content does not change
    once students can see it (editing an item in use makes a new version)."""
    key = (connection.schema_name, version_id)
    now = time.monotonic()
    with _lock:
        cached = _versions.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    # The correct key comes along for marking answers; it never reaches a template.
    version = ItemVersion.objects.only(
        "id", "item_id", "number", "stem", "options", "correct_key", "kind", "answer"
    ).get(pk=version_id)
    with _lock:
        _versions[key] = (now + VERSION_CACHE_SECONDS, version)
        while len(_versions) > MAX_CACHED_VERSIONS:
            _versions.popitem(last=False)
    return version
