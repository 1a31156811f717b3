"""Item bank pages for school staff: the list, the editor with a live preview, import and export,
statistics, and calibration runs. Students get 403 on every one of them."""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dreamseed.accounts.permissions import staff_required
from dreamseed.itembank import calibration_runs, charts, media, selectors, services
from dreamseed.itembank.formats.moodlexml_export import export_moodle_xml
from dreamseed.itembank.formats.qti_export import export_qti_file
from dreamseed.itembank.forms import (
    AcceptForm,
    CalibrationForm,
    ImportUploadForm,
    ItemFilterForm,
    ItemForm,
)
from dreamseed.itembank.import_export import (
    COLUMNS,
    FORMAT_CSV,
    FORMAT_JSON,
    ItemFileError,
    export_csv,
    export_json,
)
from dreamseed.itembank.kinds import ItemKind, kind_label
from dreamseed.itembank.models import (
    CALIBRATION_OUTCOMES,
    POLYTOMOUS_MODELS,
    CalibrationKind,
    CalibrationStatus,
    Item,
    ItemImport,
    ItemStatus,
    ItemVersion,
)
from dreamseed.itembank.statistics import item_response_analysis

#: The exchange formats' download names: /items/export.qti.zip and /items/export.moodle.xml.
EXPORT_QTI, EXPORT_MOODLE = "qti.zip", "moodle.xml"
ITEMS_PER_PAGE = 50
#: Rows (each with its curve) per page of a calibration run.
CALIBRATION_RESULTS_PER_PAGE = 25
PREVIEW_ROWS_SHOWN = 200


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _filter_form(request, data) -> ItemFilterForm:
    return ItemFilterForm(data, choices=selectors.item_filter_choices())


# --- List, statistics, export -----------------------------------------------------------------


@staff_required
def item_list(request):
    form = _filter_form(request, request.GET)
    filters = form.filters()
    page = Paginator(selectors.item_list(filters=filters), ITEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "itembank/item_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "statistics_computed": selectors.item_statistics_last_computed(),
            "calibration_form": CalibrationForm(),
        },
    )


@staff_required
@require_POST
def statistics_refresh(request):
    from django.db import transaction

    from dreamseed.itembank.tasks import item_statistics_refresh

    transaction.on_commit(item_statistics_refresh.delay)
    messages.success(
        request,
        _("Item statistics are being recomputed. Reload the page in a moment to see them."),
    )
    next_url = request.POST.get("next", "")
    if not (next_url.startswith("/items/") and url_has_allowed_host_and_scheme(next_url, None)):
        next_url = reverse("itembank:list")
    return redirect(next_url)


@staff_required
@require_GET
def item_export(request, fmt: str):
    if fmt not in (FORMAT_CSV, FORMAT_JSON, EXPORT_QTI, EXPORT_MOODLE):
        raise Http404
    filters = _filter_form(request, request.GET).filters()
    items = selectors.item_list(filters=filters).iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d")
    if fmt == FORMAT_CSV:
        response = StreamingHttpResponse(export_csv(items), content_type="text/csv; charset=utf-8")
    elif fmt == FORMAT_JSON:
        response = StreamingHttpResponse(export_json(items), content_type="application/json")
    elif fmt == EXPORT_QTI:
        # The manifest lists every item, so the zip is finished (on a spooled temporary file)
        # before the first byte is sent; FileResponse then streams and closes it.
        package, _summary = export_qti_file(items, package_id=f"dreamseed-items-{stamp}")
        response = FileResponse(package, content_type="application/zip")
    else:
        notes: list[str] = []
        if request.GET.get("without") == "ordering":
            items = _without_ordering(items, notes)
        response = StreamingHttpResponse(
            export_moodle_xml(items, notes), content_type="application/xml; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="items-{stamp}.{fmt}"'
    return response


def _without_ordering(items, notes: list[str]):
    """The items but ordering ones, for a Moodle without the Ordering question type (4.3 and
    earlier without the plugin), which refuses a whole file that has one. The file ends with a
    note naming what was left out."""
    left_out = []
    for item in items:
        version = item.current_version
        if version is not None and version.kind == ItemKind.ORDERING:
            left_out.append(item.external_id)
            continue
        yield item
    if left_out:
        notes.append(_("Ordering items left out: %(ids)s.") % {"ids": ", ".join(left_out)})


# --- One item -----------------------------------------------------------------------------------


@staff_required
def item_detail(request, pk: int):
    item = selectors.item_get(pk=pk)
    versions = list(selectors.item_versions(item=item))
    runs = item.calibration_results.select_related("run").order_by("-run__created")[:10]
    statistics = getattr(item, "statistics", None)
    return render(
        request,
        "itembank/item_detail.html",
        {
            "item": item,
            "version": item.current_version,
            "versions": versions,
            "statistics": statistics,
            "calibrations": runs,
            "icc": _current_curve(item),
            "ccc": _category_curves(item),
            "categories": selectors.item_category_counts(
                item=item, version=item.current_version, statistics=statistics
            ),
            "answers": item_response_analysis(version=item.current_version, statistics=statistics),
        },
    )


def _category_curves(item):
    """Category characteristic curves of a calibrated GPCM/GRM item."""
    if not item.is_polytomous or not item.steps:
        return None
    labels = [
        ngettext("%(n)s point", "%(n)s points", k) % {"n": k} for k in range(len(item.steps) + 1)
    ]
    return charts.ccc_svg(
        model=item.model,
        a=item.a,
        steps=item.steps,
        title=_("Category characteristic curves of %(id)s") % {"id": item.external_id},
        labels=labels,
    )


def _current_curve(item):
    if item.b is None or item.is_polytomous:
        return None
    return charts.icc_svg(
        old=item.parameters,
        title=_("Item characteristic curve of %(id)s") % {"id": item.external_id},
        old_label=_("Current parameters"),
    )


@staff_required
def item_version(request, pk: int, number: int):
    item = selectors.item_get(pk=pk)
    version = get_object_or_404(ItemVersion, item=item, number=number)
    return render(request, "itembank/item_version.html", {"item": item, "version": version})


def _editor(request, *, item=None):
    form = ItemForm(request.POST if request.method == "POST" else None, item=item)
    previewing = request.method == "POST" and "preview" in request.POST
    if request.method == "POST" and not previewing and form.is_valid():
        try:
            if item is None:
                item = services.item_create(values=form.values, created_by=request.user)
                messages.success(request, _("Item %(id)s was created.") % {"id": item.external_id})
            else:
                change = services.item_update(
                    item=item, values=form.values, updated_by=request.user
                )
                if change.new_version:
                    messages.success(
                        request,
                        _(
                            "Saved as version %(number)s. Past answers still point at the "
                            "version the students saw."
                        )
                        % {"number": item.versions.count()},
                    )
                else:
                    messages.success(request, _("Your changes were saved."))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("itembank:detail", pk=item.pk)
    preview = (
        form.preview_version()
        if request.method == "POST"
        else (item.current_version if item else None)
    )
    status = 400 if form.errors and not previewing else 200
    return render(
        request,
        "itembank/item_form.html",
        {
            "form": form,
            "item": item,
            "preview": preview,
            "choices": selectors.item_filter_choices(),
        },
        status=status,
    )


@staff_required
def item_create(request):
    return _editor(request)


@staff_required
def item_edit(request, pk: int):
    return _editor(request, item=selectors.item_get(pk=pk))


@staff_required
@require_POST
def item_preview(request):
    """The live preview: the student's view of the text being edited, as an HTML fragment."""
    response = render(
        request,
        "itembank/_item_preview.html",
        {"preview": ItemForm(request.POST).preview_version()},
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required
@require_POST
def item_retire(request, pk: int):
    item = selectors.item_get(pk=pk)
    if services.item_retire(item=item):
        messages.success(
            request,
            _("%(id)s is retired: no new test will show it. Past results are kept.")
            % {"id": item.external_id},
        )
    else:
        messages.info(request, _("%(id)s was already retired.") % {"id": item.external_id})
    return redirect("itembank:detail", pk=item.pk)


@staff_required
@require_POST
def item_duplicate(request, pk: int):
    item = selectors.item_get(pk=pk)
    copy = services.item_duplicate(item=item, created_by=request.user)
    messages.success(
        request,
        _("This is a draft copy of %(id)s. Change it, check its parameters, then save.")
        % {"id": item.external_id},
    )
    return redirect("itembank:edit", pk=copy.pk)


# --- Import -------------------------------------------------------------------------------------


@staff_required
def item_import(request):
    form = ImportUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    plan = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            pending, plan = services.item_import_create(
                uploaded_by=request.user, data=upload.read(), filename=upload.name
            )
        except ItemFileError as error:
            form.add_error("file", str(error))
        else:
            if pending is not None:
                return redirect("itembank:import_preview", import_id=pending.pk)
    failed = bool(form.errors or (plan and not plan.is_valid))
    return render(
        request,
        "itembank/import.html",
        {"form": form, "plan": plan, "columns": COLUMNS},
        status=400 if failed else 200,
    )


@staff_required
def item_import_preview(request, import_id):
    pending = get_object_or_404(
        ItemImport, pk=import_id, uploaded_by=request.user, applied_at__isnull=True
    )
    if request.method == "POST":
        try:
            counts = services.item_import_apply(
                item_import=pending,
                expected_digest=request.POST.get("digest", ""),
                user=request.user,
            )
        except services.ImportChanged:
            messages.warning(
                request, _("The bank changed since this preview. Check the updated preview below.")
            )
            return redirect("itembank:import_preview", import_id=pending.pk)
        messages.success(
            request,
            _("Import done: %(create)s new items, %(update)s updated, %(unchanged)s unchanged.")
            % counts,
        )
        return redirect("itembank:list")
    try:
        plan = services.item_import_plan_for(item_import=pending)
    except ItemFileError as error:  # pragma: no cover - the file was readable at upload
        messages.error(request, str(error))
        return redirect("itembank:import")
    return render(
        request,
        "itembank/import_preview.html",
        {
            "item_import": pending,
            "plan": plan,
            "counts": plan.counts,
            "digest": plan.digest(),
            "rows": plan.rows[:PREVIEW_ROWS_SHOWN],
            "hidden_rows": max(0, len(plan.rows) - PREVIEW_ROWS_SHOWN),
            "kind_counts": _kind_counts(plan),
        },
    )


def _kind_counts(plan) -> list[tuple[str, int]]:
    """(type name, number of items) in the file, most common first, for the preview."""
    counts = Counter(row.values.kind for row in plan.rows)
    return [(kind_label(kind), count) for kind, count in counts.most_common()]


@staff_required
def import_format(request):
    return render(request, "itembank/import_format.html", {"columns": COLUMNS})


# --- Calibration runs ---------------------------------------------------------------------------


@staff_required
def calibration_list(request):
    return render(
        request,
        "itembank/calibration_list.html",
        {
            "runs": selectors.calibration_run_list()[:100],
            "form": CalibrationForm(),
            "pilot_count": Item.objects.filter(status=ItemStatus.PILOT).count(),
        },
    )


@staff_required
@require_POST
def calibration_create(request):
    form = CalibrationForm(request.POST)
    kind = (
        CalibrationKind.PILOT if request.POST.get("kind") == "pilot" else CalibrationKind.SELECTED
    )
    back = (
        reverse("itembank:calibrations")
        if kind == CalibrationKind.PILOT
        else reverse("itembank:list")
    )
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect(back)
    items = None
    if kind == CalibrationKind.SELECTED:
        if request.POST.get("scope") == "filtered":
            items = selectors.item_list(filters=_filter_form(request, request.POST).filters())
        else:
            # str.isdigit() also accepts "²" or "١": only ASCII digits are ids.
            ids = [
                value
                for value in request.POST.getlist("items")
                if value.isascii() and value.isdigit()
            ]
            items = Item.objects.filter(pk__in=ids)
    try:
        run = calibration_runs.calibration_run_create(
            kind=kind,
            model=form.cleaned_data["model"],
            min_responses=form.cleaned_data["min_responses"],
            max_se_a=form.cleaned_data["max_se_a"],
            max_se_b=form.cleaned_data["max_se_b"],
            created_by=request.user,
            items=items,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(back)
    messages.success(request, _("Calibration started. This page shows its progress."))
    return redirect("itembank:calibration", pk=run.pk)


def _with_chart(result):
    if result.old_model in POLYTOMOUS_MODELS:
        # A GPCM/GRM item: its new category curves (its b alone would draw a wrong 2PL curve).
        steps = result.new_steps if result.is_estimated else result.old_steps
        result.chart = None
        if steps:
            result.chart = charts.ccc_svg(
                model=result.old_model,
                a=result.new_a if result.is_estimated else result.old_a,
                steps=steps,
                title=_("Category characteristic curves of %(id)s")
                % {"id": result.item.external_id},
                labels=[str(k) for k in range(len(steps) + 1)],
            )
        return result
    result.chart = charts.icc_svg(
        old=result.old_parameters if result.old_b is not None else None,
        new=result.new_parameters if result.is_estimated else None,
        observed=result.observed,
        title=_("Item characteristic curve of %(id)s") % {"id": result.item.external_id},
        old_label=_("Before"),
        new_label=_("New"),
        observed_label=_("Observed"),
    )
    return result


@never_cache
@staff_required
def calibration_detail(request, pk: int):
    run = selectors.calibration_run_get(pk=pk)
    results = selectors.calibration_results_by_outcome(run=run)
    counts = {outcome: 0 for outcome in CALIBRATION_OUTCOMES}
    for result in results:
        counts[result.outcome] += 1
    outcome = request.GET.get("outcome", "")
    shown = [r for r in results if r.outcome == outcome] if outcome in counts else results
    page = Paginator(shown, CALIBRATION_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    for result in page:
        _with_chart(result)
    return render(
        request,
        "itembank/calibration_detail.html",
        {
            "run": run,
            "page": page,
            "query": f"outcome={outcome}" if outcome in counts else "",
            "outcome": outcome if outcome in counts else "",
            "counts": [(name, counts[name]) for name in CALIBRATION_OUTCOMES],
            "total": len(results),
            "estimated": sum(1 for r in results if r.is_estimated),
            "applicable": sum(1 for r in results if r.is_applicable),
        },
    )


@never_cache
@staff_required
@require_GET
def calibration_status(request, pk: int):
    run = selectors.calibration_run_get(pk=pk)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "stage": _(run.stage) if run.stage else "",
            "finished": not run.is_open,
            "error": run.error,
        }
    )


@never_cache
@staff_required
def calibration_accept(request, pk: int):
    """Review page: every item with its outcome; only the ones that passed are pre-selected,
    and refused ones say why and have no checkbox."""
    run = selectors.calibration_run_get(pk=pk)
    if run.status != CalibrationStatus.SUCCEEDED or not run.n_usable:
        if request.method == "POST" or run.status == CalibrationStatus.SUCCEEDED:
            messages.error(
                request,
                _("Nothing in this calibration can be applied.")
                if run.status == CalibrationStatus.SUCCEEDED
                else _("Only a finished calibration waiting for review can be accepted."),
            )
        return redirect("itembank:calibration", pk=run.pk)
    results = selectors.calibration_results_by_outcome(run=run)
    if request.method == "POST":
        form = AcceptForm(request.POST)
        form.is_valid()
        chosen = [
            int(value)
            for value in request.POST.getlist("results")
            if value.isascii() and value.isdigit()
        ]
        try:
            count = calibration_runs.calibration_run_accept(
                run=run,
                accepted_by=request.user,
                promote_pilots=form.cleaned_data.get("promote_pilots", False),
                result_ids=chosen,
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("itembank:calibration_accept", pk=run.pk)
        messages.success(
            request,
            _("New parameters applied to %(count)s items. New test sessions use them.")
            % {"count": count},
        )
        return redirect("itembank:calibration", pk=run.pk)
    return render(
        request,
        "itembank/calibration_accept.html",
        {
            "run": run,
            "applicable": [r for r in results if r.is_applicable],
            # Grouped by reason: the first of each group explains it in full, the rest briefly.
            "refused": [r for r in results if not r.is_applicable],
            "accept_form": AcceptForm(),
            "has_pilots": any(
                r.old_status == ItemStatus.PILOT and r.is_applicable for r in results
            ),
            "preselected": sum(1 for r in results if r.is_applicable and not r.has_drift),
        },
    )


@staff_required
@require_POST
def calibration_discard(request, pk: int):
    run = selectors.calibration_run_get(pk=pk)
    try:
        calibration_runs.calibration_run_discard(run=run, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The calibration was discarded. The bank is unchanged."))
    return redirect("itembank:calibration", pk=run.pk)


@staff_required
@require_POST
def calibration_retry(request, pk: int):
    run = selectors.calibration_run_get(pk=pk)
    try:
        calibration_runs.calibration_run_retry(run=run)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The calibration was queued again."))
    return redirect("itembank:calibration", pk=run.pk)


# A little room above the image limit for the multipart envelope.
IMAGE_UPLOAD_MAX_REQUEST_BYTES = media.IMAGE_MAX_BYTES + 64_000


@staff_required
@require_POST
def image_upload(request):
    """The editor's "Insert image": store one checked image for this school and answer its URL
    as JSON (`{"url"}`), or a 400 with the reason (`{"error"}`). Nothing is stored on a refusal.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > IMAGE_UPLOAD_MAX_REQUEST_BYTES:
        # Refuse before Django reads a large body into temporary files.
        return JsonResponse(
            {"error": _("The image is larger than %(limit)s MB.") % {"limit": 2}}, status=400
        )
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": _("Choose an image file to upload.")}, status=400)
    if upload.size > media.IMAGE_MAX_BYTES:
        return JsonResponse(
            {
                "error": _("%(name)s is larger than %(limit)s MB.")
                % {"name": upload.name, "limit": 2}
            },
            status=400,
        )
    data = upload.read()
    try:
        ext = media.image_check(data, upload.name)
    except media.ImageError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"url": media.image_save(data, ext)})


@require_GET
def item_image(request, name):
    """An image of this school's items, for any signed-in member of the school (students see
    them in their tests). Another school's images are not in this school's folder."""
    if not request.user.is_authenticated:
        raise Http404
    opened = media.image_open(name)
    if opened is None:
        raise Http404
    handle, content_type = opened
    response = FileResponse(handle, content_type=content_type)
    # Content-addressed: the bytes behind a name never change.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
