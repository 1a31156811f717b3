"""Calibration runs over banks with partial-credit items: GPCM pilot items seeded into sessions
of calibrated 3PL anchors are estimated by the mixed-bank engine, anchored on the bank's scale,
and accepting keeps their model and writes their steps."""

import numpy as np
import pytest

from dreamseed.cat.polytomous import MODEL_GPCM, category_probabilities_scalar, draw_score
from dreamseed.itembank import calibration_runs
from dreamseed.itembank.models import CalibrationMethod, Item, ItemVersion
from dreamseed.itembank.tests.conftest import make_bank, simulate_sessions
from dreamseed.testing import in_schema

GPCM_TRUE = [(1.2, [-0.8, 0.6]), (1.5, [0.0, 1.2])]
PARTIAL = {"kind": "multiple", "correct_key": "", "answer": {"keys": ["A", "B"],
                                                            "scoring": "partial"}}  # fmt: skip


@pytest.fixture
def mixed_bank(alpha_teacher):
    from dreamseed.assessments.models import Attempt

    rng = np.random.default_rng(3)
    anchors_true = np.column_stack(
        [rng.uniform(0.9, 2.0, 30), np.linspace(-2, 2.5, 30), np.full(30, 0.2), np.ones(30)]
    )
    anchors = make_bank(alpha_teacher, anchors_true, prefix="ANC")
    pilots = make_bank(alpha_teacher, [(1, np.nan, 0, 1)] * 2, prefix="GP", status="pilot",
                       model="GPCM")  # fmt: skip
    simulated = simulate_sessions(
        alpha_teacher, items=anchors, true_params=anchors_true, n_sessions=900, per_session=12,
        theta_mean=0.4, theta_sd=1.1, seed=11,
    )  # fmt: skip
    with in_schema(alpha_teacher.schema_name):
        ItemVersion.objects.filter(item__in=pilots).update(**PARTIAL)
        attempts = []
        for session, theta in zip(simulated.sessions, simulated.theta, strict=True):
            for offset, (item, (a, steps)) in enumerate(zip(pilots, GPCM_TRUE, strict=True)):
                p = category_probabilities_scalar(float(theta), MODEL_GPCM, a, steps, 0.0, 1.0)
                score = draw_score(p, rng.random())
                attempts.append(
                    Attempt(
                        session=session, position=20 + offset, item=item,
                        item_version_id=item.current_version_id, is_pilot=True,
                        selected_choice="A,B", correct=score == 2, score=score,
                    )
                )  # fmt: skip
        Attempt.objects.bulk_create(attempts)
    return pilots


def test_gpcm_pilots_are_calibrated_anchored_and_accepted_with_their_steps(
    alpha_teacher, mixed_bank, client_for, beta_teacher
):
    with in_schema(alpha_teacher.schema_name):
        run = calibration_runs.calibration_run_create(
            created_by=alpha_teacher.user, kind="pilot", model="2PL", min_responses=200
        )
        calibration_runs.calibration_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        assert run.method == CalibrationMethod.ANCHORED and run.n_anchors == 30
        assert run.population_mean == pytest.approx(0.4, abs=0.2)
        results = sorted(run.results.select_related("item"), key=lambda r: r.item.external_id)
        for result, (a, steps) in zip(results, GPCM_TRUE, strict=True):
            assert result.flag == "", result.flag
            assert result.new_a == pytest.approx(a, abs=0.35)
            assert result.new_steps == pytest.approx(steps, abs=0.3)
            assert result.new_b == pytest.approx(np.mean(result.new_steps))
            assert result.se_b is not None and result.se_b > 0
        applied = calibration_runs.calibration_run_accept(
            run=run, accepted_by=alpha_teacher.user, promote_pilots=True
        )
        assert applied == 2
        item = Item.objects.get(pk=results[0].item_id)
        assert item.model == "GPCM" and item.status == "active"
        assert item.steps == pytest.approx(results[0].new_steps)
    # The review page draws each GPCM item's category curves, for this school's staff only.
    page = client_for(alpha_teacher).get(f"/items/calibrations/{run.pk}/")
    assert page.status_code == 200
    assert page.content.decode().count('class="icc ccc"') == 2
    assert client_for(beta_teacher).get(f"/items/calibrations/{run.pk}/").status_code == 404


def test_a_dichotomous_bank_takes_the_old_path(alpha_teacher):
    rng = np.random.default_rng(5)
    params = np.column_stack(
        [rng.uniform(0.9, 2.0, 10), np.linspace(-2, 2, 10), np.zeros(10), np.ones(10)]
    )
    items = make_bank(alpha_teacher, params, prefix="D")
    simulate_sessions(alpha_teacher, items=items, true_params=params, n_sessions=50,
                      per_session=5, seed=2)  # fmt: skip
    with in_schema(alpha_teacher.schema_name):
        assert not calibration_runs._has_partial_credit([item.pk for item in items])
