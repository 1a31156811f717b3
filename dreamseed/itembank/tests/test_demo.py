"""The demo school's bank: enough realistic, calibrated items for a test that behaves like one."""

from collections import defaultdict

import numpy as np

from dreamseed.itembank.demo import demo_bank_rows, demo_bank_seed
from dreamseed.itembank.models import BankRevision, Item
from dreamseed.testing import in_schema


def test_the_demo_bank_is_seeded_once(alpha_admin):
    with in_schema(alpha_admin.schema_name):
        created = demo_bank_seed()
        assert created == len(demo_bank_rows())
        assert demo_bank_seed() == 0  # idempotent
        active = Item.objects.filter(status="active")
        assert active.count() >= 300
        assert Item.objects.filter(status="pilot", b__isnull=True).count() == 20
        assert set(active.values_list("content_area", flat=True)) == {
            "Number sense", "Arithmetic", "Fractions", "Algebra", "Geometry",
        }  # fmt: skip
        assert all(0.8 <= a <= 2.0 for a in active.values_list("a", flat=True))
        assert all(0.1 <= c <= 0.3 for c in active.values_list("c", flat=True))
        assert BankRevision.current() >= 1
        for item in Item.objects.select_related("current_version")[:50]:
            version = item.current_version
            assert len(version.options) == 4
            assert version.correct_key in version.option_keys


def test_demo_items_are_deterministic_and_correct():
    rows = demo_bank_rows()
    assert rows == demo_bank_rows()
    by_id = {row["external_id"]: row for row in rows}
    first = by_id["DEMO-ARI-001"]  # one-digit addition
    a, b = (int(n) for n in first["stem"].removeprefix("What is ").removesuffix("?").split(" + "))
    correct = next(o["text"] for o in first["options"] if o["key"] == first["correct_key"])
    assert int(correct) == a + b
    assert any("\\dfrac" in row["stem"] for row in rows)
    assert any("x^2" in row["stem"] for row in rows)


def test_difficulty_follows_real_complexity():
    by_kind = defaultdict(list)
    for row in demo_bank_rows():
        if row["b"] is not None:
            by_kind[row["standards"][1]].append(row["b"])
    mean = {kind: float(np.mean(values)) for kind, values in by_kind.items()}
    assert mean["add-one-digit"] < -2.2
    assert mean["multi-step-equation"] > 2.0
    assert (
        mean["add-one-digit"]
        < mean["add-two-digit-carry"]
        < mean["multiplication-facts"]
        < mean["two-step-equation"]
        < mean["multi-step-equation"]
    )
