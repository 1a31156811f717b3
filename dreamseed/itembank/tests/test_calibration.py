"""Calibration runs from collected attempts: pilot items land on the bank's scale, results wait for
review, accepting applies them in one go, failures are visible and can be retried."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from dreamseed.itembank import calibration_runs
from dreamseed.itembank.charts import icc_svg
from dreamseed.itembank.models import (
    BankRevision,
    CalibrationMethod,
    CalibrationResult,
    CalibrationRun,
    Item,
)
from dreamseed.itembank.tests.conftest import make_bank, make_item, simulate_sessions
from dreamseed.testing import in_schema

N_ANCHORS = 30


@pytest.fixture
def pilot_bank(alpha_teacher):
    """30 calibrated anchors and 4 pilot items seeded into 700 sessions of abler students."""
    rng = np.random.default_rng(1)
    anchors_true = np.column_stack(
        [rng.uniform(0.9, 2.0, N_ANCHORS), np.linspace(-2, 2.5, N_ANCHORS),
         np.full(N_ANCHORS, 0.2), np.ones(N_ANCHORS)]
    )  # fmt: skip
    pilots_true = np.array(
        [(1.3, -1.0, 0.2, 1), (1.6, 0.0, 0.2, 1), (1.1, 0.8, 0.2, 1), (1.4, 1.6, 0.2, 1)]
    )
    anchors = make_bank(alpha_teacher, anchors_true, prefix="ANC")
    unknown = pilots_true.copy()
    unknown[:, 1] = np.nan
    pilots = make_bank(alpha_teacher, unknown, prefix="PIL", status="pilot")
    simulate_sessions(
        alpha_teacher, items=anchors, true_params=anchors_true, n_sessions=700, per_session=12,
        pilot_items=pilots, pilot_true_params=pilots_true, pilots_per_session=2,
        theta_mean=0.5, theta_sd=1.1, seed=7,
    )  # fmt: skip
    return anchors, pilots, pilots_true


def _run(persona, **options):
    with in_schema(persona.schema_name):
        run = calibration_runs.calibration_run_create(created_by=persona.user, **options)
        calibration_runs.calibration_run_execute(run_id=run.pk)
        run.refresh_from_db()
    return run


def test_pilot_items_are_calibrated_on_the_scale_of_the_active_items(alpha_teacher, pilot_bank):
    _anchors, pilots, pilots_true = pilot_bank
    with in_schema(alpha_teacher.schema_name):
        revision = BankRevision.current()
    run = _run(alpha_teacher, kind="pilot", model="3PL", min_responses=200)
    assert run.status == "succeeded", run.error
    assert run.method == CalibrationMethod.ANCHORED
    assert run.n_persons == 700 and run.n_anchors == N_ANCHORS and run.progress == 100
    assert run.population_mean == pytest.approx(0.5, abs=0.2)
    with in_schema(alpha_teacher.schema_name):
        results = {r.item_id: r for r in CalibrationResult.objects.filter(run=run)}
        assert set(results) == {pilot.pk for pilot in pilots}
        new_b = np.array([results[pilot.pk].new_b for pilot in pilots])
        assert np.abs(new_b - pilots_true[:, 1]).max() < 0.5
        assert all(results[p.pk].se_b and 0 < results[p.pk].se_b < 0.5 for p in pilots)
        assert all(results[p.pk].observed for p in pilots)
        # Nothing changed in the bank yet.
        assert all(item.b is None for item in Item.objects.filter(status="pilot"))
        assert BankRevision.current() == revision


def test_accepting_applies_the_parameters_and_activates_pilots(
    client_for, alpha_teacher, pilot_bank
):
    _, pilots, _ = pilot_bank
    run = _run(alpha_teacher, kind="pilot", model="3PL", min_responses=200)
    with in_schema(alpha_teacher.schema_name):
        revision = BankRevision.current()
    client = client_for(alpha_teacher)
    page = client.get(f"/items/calibrations/{run.pk}/")
    assert page.status_code == 200
    assert page.text.count('<svg class="icc"') == 4 and "icc-observed" in page.text
    assert "Review and accept (4 items can be applied)" in page.text
    review = client.get(f"/items/calibrations/{run.pk}/accept/")
    assert review.text.count('name="results"') == 4
    assert review.text.count(" checked>") == 4  # all four passed: all pre-selected
    assert 'name="promote_pilots"' in review.text and 'name="promote_pilots" checked' not in (
        review.text
    )
    with in_schema(alpha_teacher.schema_name):
        chosen = list(run.results.values_list("pk", flat=True))
    response = client.post(
        f"/items/calibrations/{run.pk}/accept/",
        {"promote_pilots": "on", "results": chosen},
        follow=True,
    )
    assert "New parameters applied to 4 items" in response.text
    with in_schema(alpha_teacher.schema_name):
        for pilot in pilots:
            item = Item.objects.get(pk=pilot.pk)
            result = CalibrationResult.objects.get(run=run, item=pilot)
            assert (item.a, item.b, item.c, item.se_b) == (
                result.new_a, result.new_b, result.new_c, result.se_b,
            )  # fmt: skip
            assert item.status == "active"
        assert BankRevision.current() == revision + 1
        run.refresh_from_db()
        assert run.status == "accepted" and run.accepted_by_id == alpha_teacher.user_id
    twice = client.post(f"/items/calibrations/{run.pk}/accept/", {"results": chosen}, follow=True)
    assert "Only a finished calibration waiting for review" in twice.text


def test_recalibrating_selected_active_items_holds_the_others_fixed(alpha_teacher, pilot_bank):
    anchors, _, _ = pilot_bank
    with in_schema(alpha_teacher.schema_name):
        chosen = Item.objects.filter(pk__in=[anchors[3].pk, anchors[20].pk])
        run = calibration_runs.calibration_run_create(
            kind="selected", model="2PL", min_responses=100, created_by=None, items=chosen
        )
        calibration_runs.calibration_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        assert run.method == CalibrationMethod.ANCHORED
        assert run.n_anchors == N_ANCHORS - 2
        results = list(run.results.all())
        assert all(r.new_c == 0 and r.se_c is None for r in results)  # 2PL
        for result in results:
            assert result.new_b == pytest.approx(result.old_b, abs=0.6)


def test_calibrating_everything_uses_the_engine_and_links_back(alpha_teacher):
    rng = np.random.default_rng(4)
    truth = np.column_stack([rng.uniform(0.9, 1.8, 15), np.linspace(-1.5, 1.5, 15),
                             np.zeros(15), np.ones(15)])  # fmt: skip
    items = make_bank(alpha_teacher, truth, model="2PL")
    simulate_sessions(alpha_teacher, items=items, true_params=truth, n_sessions=500,
                      per_session=10, theta_mean=0.8, seed=9)  # fmt: skip
    with in_schema(alpha_teacher.schema_name):
        everything = Item.objects.filter(pk__in=[i.pk for i in items])
    run = _run(alpha_teacher, kind="selected", model="2PL", min_responses=100, items=everything)
    assert run.status == "succeeded", run.error
    assert run.method == CalibrationMethod.FREE and run.n_anchors == 0
    assert run.link_slope > 0
    with in_schema(alpha_teacher.schema_name):
        new_b = np.array([r.new_b for r in run.results.order_by("item__external_id")])
    # Back on the bank's scale, not N(0, 1) (these students' mean ability is 0.8).
    assert float(np.sqrt(np.mean((new_b - truth[:, 1]) ** 2))) < 0.3
    assert abs(new_b.mean() - truth[:, 1].mean()) < 0.1


def test_a_run_without_answers_fails_visibly_and_can_be_retried(client_for, alpha_teacher, item):
    with in_schema(alpha_teacher.schema_name):
        run = calibration_runs.calibration_run_create(
            kind="selected", model="3PL", min_responses=200, created_by=None,
            items=Item.objects.filter(pk=item.pk),
        )  # fmt: skip
        calibration_runs.calibration_run_execute(run_id=run.pk)
        run.refresh_from_db()
    assert run.status == "failed" and "has been answered yet" in run.error
    client = client_for(alpha_teacher)
    page = client.get(f"/items/calibrations/{run.pk}/")
    assert "This calibration failed" in page.text and "Retry" in page.text
    response = client.post(f"/items/calibrations/{run.pk}/retry/", follow=True)
    assert "queued again" in response.text
    with in_schema(alpha_teacher.schema_name):
        run.refresh_from_db()
        assert run.status == "queued" and run.error == ""
        # Running it twice is harmless: the second finds nothing to do.
        assert calibration_runs.calibration_run_execute(run_id=run.pk) is True
        assert calibration_runs.calibration_run_execute(run_id=run.pk) is False


def test_only_one_calibration_runs_at_a_time(alpha_teacher, item):
    with in_schema(alpha_teacher.schema_name):
        items = Item.objects.filter(pk=item.pk)
        calibration_runs.calibration_run_create(
            kind="selected", model="3PL", min_responses=200, created_by=None, items=items
        )
        with pytest.raises(ValidationError, match="Another calibration is running"):
            calibration_runs.calibration_run_create(
                kind="selected", model="3PL", min_responses=200, created_by=None, items=items
            )


def test_no_pilot_with_enough_answers_is_a_clear_message(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/calibrations/new/",
        {"kind": "pilot", "model": "3PL", "min_responses": "200"},
        follow=True,
    )
    assert "No pilot item has 200 responses yet" in response.text
    bad = client_for(alpha_teacher).post(
        "/items/calibrations/new/", {"kind": "pilot", "model": "9PL", "min_responses": "1"},
        follow=True,
    )  # fmt: skip
    assert "Select a valid choice" in bad.text


def test_starting_from_the_list_queues_the_task_after_commit(
    client_for, alpha_teacher, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(alpha_teacher).post(
            "/items/calibrations/new/",
            {"items": [item.pk], "scope": "selected", "model": "3PL", "min_responses": "200"},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.get()
        assert list(run.results.values_list("item_id", flat=True)) == [item.pk]
        assert run.created_by_id == alpha_teacher.user_id
    status = client_for(alpha_teacher).get(f"/items/calibrations/{run.pk}/status/").json()
    assert status == {
        "id": run.pk, "status": "queued", "status_label": "Queued", "progress": 0, "stage": "",
        "finished": False, "error": "",
    }  # fmt: skip
    page = client_for(alpha_teacher).get(f"/items/calibrations/{run.pk}/")
    assert "<progress" in page.text and "data-status-url" in page.text and "Refresh" in page.text


@pytest.mark.parametrize("odd", ["²", "١٢", "abc", "-1", "99999999999999999999"])
def test_odd_item_ids_in_a_calibration_request_are_ignored(
    client_for, alpha_teacher, item, django_capture_on_commit_callbacks, odd
):
    """Found by dreamseed/core/tests/test_fuzz_forms.py: "²".isdigit() is True, and the id
    reached the query (ValueError, a 500)."""
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(alpha_teacher).post(
            "/items/calibrations/new/",
            {"items": [odd, item.pk], "scope": "selected", "model": "3PL", "min_responses": "200"},
        )
    assert response.status_code == 302
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.get()
        assert list(run.results.values_list("item_id", flat=True)) == [item.pk]


def test_calibrating_all_items_matching_the_filters(client_for, alpha_teacher):
    make_item(alpha_teacher, external_id="A-1", content_area="Algebra")
    make_item(alpha_teacher, external_id="A-2", content_area="Algebra")
    make_item(alpha_teacher, external_id="G-1", content_area="Geometry")
    client_for(alpha_teacher).post(
        "/items/calibrations/new/",
        {"scope": "filtered", "tag": "Algebra", "model": "2PL", "min_responses": "100"},
    )
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.get()
        assert sorted(run.results.values_list("item__external_id", flat=True)) == ["A-1", "A-2"]


def test_accepting_is_refused_if_the_items_changed_since(alpha_teacher, pilot_bank):
    _, pilots, _ = pilot_bank
    run = _run(alpha_teacher, kind="pilot", model="3PL", min_responses=200)
    with in_schema(alpha_teacher.schema_name):
        Item.objects.filter(pk=pilots[0].pk).update(b=0.3)
        with pytest.raises(ValidationError, match="PIL-0000 changed"):
            calibration_runs.calibration_run_accept(run=run, accepted_by=alpha_teacher.user)
        assert Item.objects.get(pk=pilots[1].pk).b is None  # all or nothing


def test_a_discarded_run_changes_nothing_and_stops_a_running_one(alpha_teacher, pilot_bank):
    with in_schema(alpha_teacher.schema_name):
        run = calibration_runs.calibration_run_create(
            kind="pilot", model="3PL", min_responses=200, created_by=None
        )
        CalibrationRun.objects.filter(pk=run.pk).update(status="running")
        calibration_runs.calibration_run_discard(run=run, user=alpha_teacher.user)
        # The worker notices on its next progress report and stops without saving.
        progress = calibration_runs._Progress(run.pk)
        with pytest.raises(calibration_runs.CalibrationCancelled):
            progress.set(50, force=True)
        run.refresh_from_db()
        assert run.status == "discarded"
        assert not Item.objects.filter(status="pilot", b__isnull=False).exists()


def test_the_nightly_pilot_check_starts_one_run_when_pilots_are_ready(
    alpha_teacher, pilot_bank, monkeypatch, django_capture_on_commit_callbacks
):
    from dreamseed.itembank import tasks

    monkeypatch.setattr(tasks, "PILOT_AUTO_MIN_RESPONSES", 200)
    with in_schema(alpha_teacher.schema_name):
        run_id = tasks.pilot_calibration_check.run()
        assert run_id is not None
        assert tasks.pilot_calibration_check.run() is None  # one is already waiting
        assert CalibrationRun.objects.get(pk=run_id).created_by is None


def test_icc_svg_escapes_its_labels():
    svg = icc_svg(
        old=(1, 0, 0.2, 1), new=(1.2, 0.3, 0.2, 1), observed=[[0.25, 0.6, 30]],
        title="<script>x</script>", old_label="<b>old</b>", new_label="new",
        observed_label="seen",
    )  # fmt: skip
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;old" in svg
    assert svg.count("<polyline") == 2 and 'stroke-dasharray="5 4"' in svg
    assert "<circle" in svg and "style=" not in svg


def test_estimates_stuck_at_a_bound_are_shown_but_not_applied(alpha_teacher):
    good = make_item(alpha_teacher, external_id="OK-1", b=0.0)
    stuck = make_item(alpha_teacher, external_id="STUCK-1", b=0.0)
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.create(status="succeeded", progress=100, model="2PL")
        for item, flag, new_b in ((good, "", 0.4), (stuck, "at_bound", 10.0)):
            CalibrationResult.objects.create(
                run=run, item=item, old_status="active", old_model="3PL", old_a=1.0, old_b=0.0,
                old_c=0.2, old_d=1.0, new_a=1.2, new_b=new_b, new_c=0.0, new_d=1.0, flag=flag,
            )  # fmt: skip
        assert calibration_runs.calibration_run_accept(run=run, accepted_by=alpha_teacher.user) == 1
        assert Item.objects.get(pk=good.pk).b == 0.4
        assert Item.objects.get(pk=stuck.pk).b == 0.0
