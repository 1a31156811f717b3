"""Reads of the item bank: the filtered item list, one item with its history, calibration runs.

The bank belongs to the school (its schema); every staff member may read all of it, so there is
no per-teacher narrowing here, and an id from another school simply does not exist (404).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from dreamseed.itembank.models import (
    CALIBRATION_OUTCOMES,
    CalibrationResult,
    CalibrationRun,
    Item,
    ItemStatistics,
    ItemVersion,
)

ITEM_SORTS = {
    "id": ("external_id",),
    "b": (F("b").asc(nulls_last=True), "external_id"),
    "-b": (F("b").desc(nulls_last=True), "external_id"),
    "updated": ("-updated", "external_id"),
    "p": (F("statistics__p_value").asc(nulls_last=True), "external_id"),
    "n": (F("statistics__n_responses").desc(nulls_last=True), "external_id"),
}
SEARCH_MAX_LENGTH = 100


@dataclass(frozen=True)
class ItemFilters:
    q: str = ""
    subject: str = ""
    grade: str = ""
    tag: str = ""
    status: str = ""
    kind: str = ""
    b_min: float | None = None
    b_max: float | None = None
    sort: str = "id"

    @property
    def active(self) -> bool:
        return any((self.q, self.subject, self.grade, self.tag, self.status, self.kind)) or any(
            bound is not None for bound in (self.b_min, self.b_max)
        )


def item_list(*, filters: ItemFilters | None = None) -> QuerySet[Item]:
    """Items matching `filters`, with their current version and statistics joined in."""
    filters = filters or ItemFilters()
    items = Item.objects.select_related("current_version", "statistics")
    if filters.q:
        q = filters.q[:SEARCH_MAX_LENGTH]
        items = items.filter(
            Q(external_id__icontains=q)
            | Q(current_version__stem__icontains=q)
            | Q(content_area__icontains=q)
            | Q(standards__contains=[q])
        )
    if filters.subject:
        items = items.filter(subject=filters.subject)
    if filters.grade:
        items = items.filter(grade=filters.grade)
    if filters.tag:
        items = items.filter(
            Q(content_area__iexact=filters.tag) | Q(standards__contains=[filters.tag])
        )
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.kind:
        items = items.filter(current_version__kind=filters.kind)
    if filters.b_min is not None:
        items = items.filter(b__gte=filters.b_min)
    if filters.b_max is not None:
        items = items.filter(b__lte=filters.b_max)
    return items.order_by(*ITEM_SORTS.get(filters.sort, ITEM_SORTS["id"]))


def item_filter_choices() -> dict[str, list[str]]:
    """The subjects, grades and tags in use, for the filter menus (three small queries)."""
    subjects = Item.objects.exclude(subject="").values_list("subject", flat=True).distinct()
    grades = Item.objects.exclude(grade="").values_list("grade", flat=True).distinct()
    areas = Item.objects.exclude(content_area="").values_list("content_area", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT unnest(standards) FROM {Item._meta.db_table} ORDER BY 1 LIMIT 500"
        )
        standards = [row[0] for row in cursor.fetchall()]
    return {
        "subjects": sorted(subjects),
        "grades": sorted(grades, key=_grade_sort_key),
        "tags": sorted(areas.distinct()) + [tag for tag in standards if tag],
    }


def _grade_sort_key(grade: str):
    return (0, int(grade), "") if grade.isdigit() else (1, 0, grade)


def item_get(*, pk: int) -> Item:
    return get_object_or_404(Item.objects.select_related("current_version", "statistics"), pk=pk)


def item_versions(*, item: Item) -> QuerySet[ItemVersion]:
    from dreamseed.assessments.models import Attempt

    return (
        ItemVersion.objects.filter(item=item)
        .select_related("created_by")
        .annotate(used=Exists(Attempt.objects.filter(item_version=OuterRef("pk"))))
        .order_by("-number")
    )


@dataclass(frozen=True)
class CategoryCount:
    score: int
    count: int
    share: float | None


def item_category_counts(*, item: Item, version, statistics=None) -> list[CategoryCount] | None:
    """How many scored answers got each score 0..m, for items scored in more than two
    categories (over the statistics' period when there is one); None for right/wrong items."""
    from dreamseed.assessments.models import Attempt

    maximum = max(version.max_score if version else 0, len(item.steps))
    if maximum <= 1:
        return None
    attempts = Attempt.objects.filter(item=item, score__isnull=False)
    if statistics is not None:
        attempts = attempts.filter(created__gte=statistics.period_start)
    counts = dict(attempts.values_list("score").annotate(n=Count("pk")).order_by())
    total = sum(counts.values())
    return [
        CategoryCount(k, counts.get(k, 0), counts.get(k, 0) / total if total else None)
        for k in range(maximum + 1)
    ]


def item_statistics_last_computed():
    return ItemStatistics.objects.aggregate(last=Max("computed_at"))["last"]


def calibration_run_list() -> QuerySet[CalibrationRun]:
    return CalibrationRun.objects.select_related("created_by", "accepted_by").annotate(
        item_count=Count("results")
    )


def calibration_run_get(*, pk: int) -> CalibrationRun:
    return get_object_or_404(
        CalibrationRun.objects.select_related("created_by", "accepted_by"), pk=pk
    )


def calibration_results(*, run: CalibrationRun) -> QuerySet[CalibrationResult]:
    return run.results.select_related("item").order_by("item__external_id")


def calibration_results_by_outcome(*, run: CalibrationRun) -> list[CalibrationResult]:
    """The run's results, the most urgent outcomes first (drift, then the refused ones by
    reason, then the usable), by item id within each. A run holds at most a few thousand."""
    order = {outcome: rank for rank, outcome in enumerate(CALIBRATION_OUTCOMES)}
    results = list(calibration_results(run=run))
    results.sort(key=lambda result: order[result.outcome])
    return results
