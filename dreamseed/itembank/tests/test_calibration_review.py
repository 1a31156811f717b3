"""Reviewing a calibration as a psychometrician would: minimum responses by model, standard
error limits, drift, an accept page that pre-selects only what passed and says why the rest
cannot be applied, and a run page that stays small for a large bank."""

import numpy as np
import pytest

from dreamseed.itembank import calibration_runs
from dreamseed.itembank.models import CalibrationResult, CalibrationRun, Item
from dreamseed.itembank.tests.conftest import make_bank, make_item, simulate_sessions
from dreamseed.testing import in_schema


def _result(run, item, *, flag="", new=(1.2, 0.4, 0.0), se=(0.1, 0.1), **extra):
    return CalibrationResult.objects.create(
        run=run, item=item, old_status=item.status, old_model="2PL", old_a=item.a, old_b=item.b,
        old_c=item.c, old_d=item.d, new_a=new[0], new_b=new[1], new_c=new[2], new_d=1.0,
        se_a=se[0], se_b=se[1], flag=flag, n_responses=extra.pop("n_responses", 400), **extra,
    )  # fmt: skip


@pytest.fixture
def reviewed_run(alpha_teacher):
    """A finished 2PL run with one item of every outcome."""
    names = ["GOOD", "DRIFT", "IMPRECISE", "STUCK", "BOUND", "FEW"]
    items = {name: make_item(alpha_teacher, external_id=name, b=0.0, a=1.0) for name in names}
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.create(
            status="succeeded", progress=100, model="2PL", min_responses=250, n_usable=2
        )
        results = {
            "GOOD": _result(run, items["GOOD"], new=(1.1, 0.1, 0.0)),
            # b moved by 0.9 with an SE of the change of 0.14: about 6 standard errors.
            "DRIFT": _result(run, items["DRIFT"], new=(1.0, 0.9, 0.0), old_se_b=0.1),
            # The example: a = 9.75 +- 7.29 from a handful of answers.
            "IMPRECISE": _result(
                run, items["IMPRECISE"], flag="large_se", new=(7.5, 0.3, 0.0), se=(7.29, 0.9)
            ),
            "STUCK": _result(run, items["STUCK"], flag="not_converged", new=(1.0, 0.77, 0.0)),
            "BOUND": _result(run, items["BOUND"], flag="at_bound", new=(0.05, -10.0, 0.0)),
            "FEW": CalibrationResult.objects.create(
                run=run,
                item=items["FEW"],
                old_status="active",
                old_model="2PL",
                old_a=1.0,
                old_b=0.0,
                old_c=0.2,
                old_d=1.0,
                flag="too_few_responses",
                n_responses=24,
            ),
        }
    return run, items, results


def test_the_minimum_responses_depend_on_the_model_and_the_form_says_why(client_for, alpha_teacher):
    make_item(alpha_teacher, external_id="LISTED")
    client = client_for(alpha_teacher)
    page = client.get("/items/")
    assert "recommended minimum: 100 for 1PL, 250 for 2PL, 500 for 3PL" in page.text
    assert "a slope (2PL) needs a few hundred" in page.text
    refused = client.post(
        "/items/calibrations/new/",
        {"kind": "pilot", "model": "2PL", "min_responses": "5"},
        follow=True,
    )
    assert "A 2PL calibration needs at least 100 responses per item" in refused.text
    with in_schema(alpha_teacher.schema_name):
        assert not CalibrationRun.objects.exists()
        # Left empty, the model's recommended minimum is used.
        item = Item.objects.create(external_id="X", status="active", b=0.0)
        run = calibration_runs.calibration_run_create(
            kind="selected", model="2PL", created_by=None, items=[item]
        )
        assert (run.min_responses, run.max_se_a, run.max_se_b) == (250, 0.75, 0.5)


def test_standard_error_limits_cannot_be_loosened_past_their_ceiling(client_for, alpha_teacher):
    response = client_for(alpha_teacher).post(
        "/items/calibrations/new/",
        {"kind": "pilot", "model": "2PL", "min_responses": "300", "max_se_b": "3"},
        follow=True,
    )
    assert "less than or equal to 1.0" in response.text
    with in_schema(alpha_teacher.schema_name):
        assert not CalibrationRun.objects.exists()


def test_the_run_page_counts_outcomes_and_lists_flagged_items_first(
    client_for, alpha_teacher, reviewed_run
):
    run, _items, _results = reviewed_run
    page = client_for(alpha_teacher).get(f"/items/calibrations/{run.pk}/")
    text = page.text
    assert "Review and accept (2 items can be applied)" in text
    for label in ("Large change (1)", "At a limit (1)", "Did not converge (1)",
                  "Too imprecise (1)", "Not estimated (1)", "Passed (1)"):  # fmt: skip
        assert label in text, label
    order = [text.index(f">{name}</a>") for name in ("DRIFT", "BOUND", "STUCK", "IMPRECISE",
                                                      "FEW", "GOOD")]  # fmt: skip
    assert order == sorted(order)
    assert "Standard error of a 7.29 (limit 0.75)" in text
    assert "24 responses; this run needs at least 250." in text
    # Filtering by outcome.
    only = client_for(alpha_teacher).get(f"/items/calibrations/{run.pk}/?outcome=large_se")
    assert ">IMPRECISE</a>" in only.text and ">GOOD</a>" not in only.text


def test_the_accept_page_preselects_only_passing_items_and_explains_each_refusal(
    client_for, alpha_teacher, reviewed_run
):
    run, items, results = reviewed_run
    client = client_for(alpha_teacher)
    page = client.get(f"/items/calibrations/{run.pk}/accept/").text
    assert f'value="{results["GOOD"].pk}" id="apply-{results["GOOD"].pk}" checked>' in page
    # Drift: may be ticked after checking, but is not pre-selected.
    assert f'value="{results["DRIFT"].pk}" id="apply-{results["DRIFT"].pk}">' in page
    assert "b changed by +0.90 (6.4 standard errors)" in page
    for name in ("IMPRECISE", "STUCK", "BOUND", "FEW"):
        assert f'value="{results[name].pk}"' not in page  # no checkbox at all
    assert "did not settle for this item" in page
    assert "ran into a limit" in page
    assert "Standard error of b 0.90 (limit 0.50)" in page
    assert "4 items cannot be applied" in page

    # A refused item sent anyway (a crafted POST) is refused by name; nothing is written.
    forged = client.post(
        f"/items/calibrations/{run.pk}/accept/",
        {"results": [results["GOOD"].pk, results["IMPRECISE"].pk]},
        follow=True,
    )
    assert "cannot be applied: IMPRECISE" in forged.text
    with in_schema(alpha_teacher.schema_name):
        assert Item.objects.get(pk=items["GOOD"].pk).b == 0.0
        run.refresh_from_db()
        assert run.status == "succeeded"

    nothing = client.post(f"/items/calibrations/{run.pk}/accept/", {}, follow=True)
    assert "Choose at least one item" in nothing.text

    done = client.post(
        f"/items/calibrations/{run.pk}/accept/",
        {"results": [results["GOOD"].pk, results["DRIFT"].pk]},
        follow=True,
    )
    assert "New parameters applied to 2 items" in done.text
    with in_schema(alpha_teacher.schema_name):
        applied = {name: Item.objects.get(pk=item.pk) for name, item in items.items()}
        assert applied["GOOD"].b == 0.1 and applied["DRIFT"].b == 0.9
        assert all(applied[name].b == 0.0 for name in ("IMPRECISE", "STUCK", "BOUND", "FEW"))


def test_a_run_that_estimated_nothing_says_so_and_offers_nothing(client_for, alpha_teacher):
    rng = np.random.default_rng(3)
    truth = np.column_stack([rng.uniform(0.8, 1.6, 10), np.linspace(-1.5, 1.5, 10),
                             np.zeros(10), np.ones(10)])  # fmt: skip
    items = make_bank(alpha_teacher, truth, model="2PL")
    simulate_sessions(alpha_teacher, items=items, true_params=truth, n_sessions=60,
                      per_session=5, seed=4)  # fmt: skip
    with in_schema(alpha_teacher.schema_name):
        run = calibration_runs.calibration_run_create(
            kind="selected", model="2PL", created_by=None,
            items=Item.objects.filter(pk__in=[item.pk for item in items]),
        )  # fmt: skip
        calibration_runs.calibration_run_execute(run_id=run.pk)
        run.refresh_from_db()
    assert run.status == "succeeded" and run.n_estimated == 0 and run.n_usable == 0
    client = client_for(alpha_teacher)
    page = client.get(f"/items/calibrations/{run.pk}/").text
    assert "Nothing usable" in page and "Waiting for review" not in page
    assert "Nothing to accept" in page
    assert "estimated no usable parameters for any of its 10 items" in page
    assert "/accept/" not in page
    listing = client.get("/items/calibrations/").text
    assert "Nothing usable" in listing
    refused = client.get(f"/items/calibrations/{run.pk}/accept/", follow=True)
    assert "Nothing in this calibration can be applied" in refused.text


def test_the_run_page_of_a_400_item_bank_stays_small(
    client_for, alpha_teacher, django_assert_max_num_queries
):
    n = 400
    rng = np.random.default_rng(5)
    truth = np.column_stack([rng.uniform(0.8, 1.6, n), rng.normal(0, 1, n), np.zeros(n),
                             np.ones(n)])  # fmt: skip
    items = make_bank(alpha_teacher, truth, model="2PL")
    observed = [[-3.75 + 0.5 * k, 0.5, 40] for k in range(16)]
    flags = ["", "", "", "large_se", "not_converged", "too_few_responses"]
    with in_schema(alpha_teacher.schema_name):
        run = CalibrationRun.objects.create(
            status="succeeded", progress=100, model="2PL", n_usable=n // 2
        )
        CalibrationResult.objects.bulk_create(
            [
                CalibrationResult(
                    run=run, item=item, old_status="active", old_model="2PL", old_a=1.0,
                    old_b=float(row[1]), old_c=0.0, old_d=1.0, new_a=float(row[0]),
                    new_b=float(row[1]) + 0.05, new_c=0.0, new_d=1.0, se_a=0.1, se_b=0.1,
                    flag=flags[index % len(flags)], n_responses=300, observed=observed,
                )
                for index, (item, row) in enumerate(zip(items, truth, strict=True))
            ]
        )  # fmt: skip
    client = client_for(alpha_teacher)
    with django_assert_max_num_queries(12):
        page = client.get(f"/items/calibrations/{run.pk}/")
    assert page.status_code == 200
    assert len(page.content) < 200_000, len(page.content)
    assert page.text.count('<svg class="icc"') == 25
    assert "Page 1 of 16" in page.text
    last = client.get(f"/items/calibrations/{run.pk}/?page=16")
    assert last.status_code == 200 and len(last.content) < 200_000
    # The accept page lists every item, refused ones briefly after the first of each reason.
    review = client.get(f"/items/calibrations/{run.pk}/accept/")
    assert review.status_code == 200 and len(review.content) < 250_000, len(review.content)
    with in_schema(alpha_teacher.schema_name):
        results = list(run.results.all())
    passed = [r for r in results if r.is_applicable and not r.has_drift]
    drifted = [r for r in results if r.is_applicable and r.has_drift]  # slopes moved 0.25+
    assert len(passed) + len(drifted) == 201 and drifted
    assert review.text.count(" checked>") == len(passed)
    assert review.text.count('name="results"') == 201
