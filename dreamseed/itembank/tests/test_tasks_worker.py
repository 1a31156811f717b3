"""Calibration and statistics through a real Celery worker and Redis, in the school's schema."""

import numpy as np
import pytest

from dreamseed.itembank.models import CalibrationRun, Item, ItemStatistics, ItemVersion
from dreamseed.itembank.tests.conftest import make_bank, simulate_sessions
from dreamseed.testing import in_schema, school_client, wait_for


@pytest.fixture
def committed_bank(committed_db, personas):
    """Anchors and pilots with answers, committed so the worker sees them; removed after."""
    teacher = personas["alpha_teacher"]
    rng = np.random.default_rng(2)
    anchors_true = np.column_stack(
        [rng.uniform(1, 2, 20), np.linspace(-2, 2, 20), np.full(20, 0.2), np.ones(20)]
    )
    pilots_true = np.array([(1.4, -0.5, 0.2, 1.0), (1.2, 0.9, 0.2, 1.0)])
    anchors = make_bank(teacher, anchors_true, prefix="WRK-A")
    unknown = pilots_true.copy()
    unknown[:, 1] = np.nan
    pilots = make_bank(teacher, unknown, prefix="WRK-P", status="pilot")
    simulated = simulate_sessions(
        teacher, items=anchors, true_params=anchors_true, n_sessions=300, per_session=10,
        pilot_items=pilots, pilot_true_params=pilots_true, pilots_per_session=1, seed=21,
    )  # fmt: skip
    yield anchors, pilots
    with in_schema(teacher.schema_name):
        from dreamseed.accounts.models import User
        from dreamseed.assessments.models import Assessment, Attempt, ExamSession
        from dreamseed.classes.models import Class

        session_ids = [session.pk for session in simulated.sessions]
        assessments = list(
            ExamSession.objects.filter(pk__in=session_ids).values_list(
                "assignment__assessment_id", "assignment__school_class_id"
            )
        )
        Attempt.objects.filter(session_id__in=session_ids).delete()
        ExamSession.objects.filter(pk__in=session_ids).delete()
        Assessment.objects.filter(pk__in=[a for a, _ in assessments]).delete()
        Class.objects.filter(pk__in=[c for _, c in assessments]).delete()
        User.objects.filter(username__startswith="sim21-").delete()
        CalibrationRun.objects.all().delete()
        ItemStatistics.objects.all().delete()
        items = Item.objects.filter(external_id__startswith="WRK-")
        items.update(current_version=None)
        ItemVersion.objects.filter(item__in=items).delete()
        items.delete()


@pytest.mark.worker
def test_a_pilot_calibration_runs_on_the_worker_and_reports_progress(
    committed_bank, personas, celery_worker_process
):
    teacher = personas["alpha_teacher"]
    # Not the `client_for` fixture: it wraps the test in a transaction, and the task is only
    # sent once the view's transaction commits.
    client = school_client(teacher.host, teacher)
    response = client.post(
        "/items/calibrations/new/", {"kind": "pilot", "model": "2PL", "min_responses": "100"}
    )
    assert response.status_code == 302
    status_url = response["Location"] + "status/"

    def finished():
        status = client.get(status_url).json()
        return status if status["finished"] else None

    status = wait_for(finished, timeout=60, message="the worker never finished the calibration")
    assert status["status"] == "succeeded", status
    assert status["progress"] == 100
    page = client.get(response["Location"])
    assert "Review and accept (2 items can be applied)" in page.text
    assert page.text.count('<svg class="icc"') == 2

    # Statistics are recomputed by the worker too, inside alpha's schema only.
    client.post("/items/statistics/refresh/")

    def computed():
        with in_schema(teacher.schema_name):
            return ItemStatistics.objects.filter(item__external_id__startswith="WRK-").count()

    assert wait_for(computed, timeout=30, message="statistics were not computed") == 22
    with in_schema(personas["beta_teacher"].schema_name):
        assert not ItemStatistics.objects.exists()
