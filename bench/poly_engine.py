"""Benchmark: the engine on polytomous (GPCM, GRM) and mixed item banks.

    .venv/bin/python bench/poly_engine.py [--quick] [--seed S]

1. CAT step on a 2,000-item mixed bank (half GPCM with 4 categories, half 2PL): time of the
   stateless ``poly_cat_step`` the web request would call (EAP, maximum information), with
   randomesque and content balancing too, and CAT accuracy (RMSE, bias) after 10/20/30 items
   against the same bank with the polytomous items scored right/wrong only.
2. MML-EM calibration of GPCM and GRM banks mixed with 2PL/3PL items, 40 items x 2,000
   persons, complete and sparse (adaptive) data: seconds, RMSE and bias of a and of the
   thresholds against the generating values, over several seeds.

Targets from the issue: a CAT step under 100 microseconds; calibration under 2 s.
Timings are wall-clock on this machine and move with its load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dreamseed.cat import StoppingRule  # noqa: E402
from dreamseed.cat.adaptive_poly import (  # noqa: E402
    PolyCatSession,
    PolyItemPool,
    poly_cat_step,
    simulate_scores,
)
from dreamseed.cat.polytomous import PolyBank, make_bank  # noqa: E402

#: Targets from the issue.
TARGET_STEP_MICROSECONDS = 100.0
TARGET_CALIBRATION_SECONDS = 2.0
TEST_LENGTHS = (10, 20, 30)


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def table(headers, rows) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join("   " + line for line in lines)


def mixed_bank(n_items: int, rng: np.random.Generator, poly_model: str = "GPCM") -> PolyBank:
    """Half polytomous items with 4 categories (steps around b: -1, 0, +1 plus noise), half
    2PL; a ~ lognormal(0, 0.25), b ~ N(0, 1)."""
    a = rng.lognormal(0.0, 0.25, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    rows, models = [], []
    for i in range(n_items):
        if i % 2 == 0:
            steps = b[i] + np.array([-1.0, 0.0, 1.0]) + rng.normal(0.0, 0.2, 3)
            rows.append(sorted(steps) if poly_model == "GRM" else list(steps))
            models.append(poly_model)
        else:
            rows.append([b[i]])
            models.append("2PL")
    return make_bank(a, rows, models)


def dichotomised(bank: PolyBank) -> PolyBank:
    """The same bank with each polytomous item scored right/wrong (full credit only) as a
    2PL at its last threshold: what a dichotomous-only engine would make of these items."""
    last = bank.thresholds[np.arange(bank.n_items), bank.n_categories - 2]
    return make_bank(bank.a, last[:, None], "2PL")


# --- 1. CAT step ---------------------------------------------------------------------------------


def bench_step(seed: int, repeats: int) -> list[str]:
    print("\n== 1. CAT step: 2,000-item mixed bank (1,000 GPCM with 4 categories, 1,000 2PL) ==")
    rng = np.random.default_rng(seed)
    bank = mixed_bank(2000, rng)
    content = np.array(["number", "algebra", "geometry", "data"])[np.arange(2000) % 4]
    started = time.perf_counter()
    pool = PolyItemPool(bank, content=content)
    build = time.perf_counter() - started
    print(f"   pool built in {build:.2f} s, {pool.nbytes / 1e6:.1f} MB of tables")
    rules = StoppingRule(max_items=40)
    targets = {"number": 0.25, "algebra": 0.25, "geometry": 0.25, "data": 0.25}
    cases = {
        "EAP + MFI": {},
        "EAP + randomesque 5": {"selector": "randomesque", "rng": rng},
        "EAP + MFI + content balancing": {"content_targets": targets},
        "WLE + MFI": {"estimator": "wle"},
    }
    rows, checks = [], []
    for length in (0, 10, 30):
        session = PolyCatSession(pool, rules=StoppingRule(max_items=length + 1), rng=seed)
        for _ in range(length):
            step = session.next_step()
            score = simulate_scores(bank.subset([step.next_item]), [0.5], rng)[0, 0]
            session.record(step.next_item, score)
        items, scores = list(session.administered), list(session.responses)
        for name, options in cases.items():
            timings = []
            for _ in range(3):  # median of three blocks
                started = time.perf_counter()
                for _ in range(repeats):
                    poly_cat_step(pool, items, scores, rules=rules, **options)
                timings.append((time.perf_counter() - started) / repeats * 1e6)
            micro = float(np.median(timings))
            rows.append([length, name, f"{micro:.1f}"])
            if name == "EAP + MFI" and length == 30:
                checks.append(
                    f"CAT step, 2,000-item mixed bank, 30 items answered: {micro:.1f} us "
                    f"(target < {TARGET_STEP_MICROSECONDS:.0f} us) -> "
                    f"{verdict(micro < TARGET_STEP_MICROSECONDS)}"
                )
    print(table(["answered", "step", "us/step"], rows))
    return checks


def bench_cat_accuracy(seed: int, n_examinees: int) -> None:
    print(
        "\n== 1b. CAT accuracy, EAP + maximum information, 2,000-item bank: partial credit "
        "vs the same items scored right/wrong =="
    )
    rng = np.random.default_rng(seed + 1)
    bank = mixed_bank(2000, rng)
    thetas = rng.normal(0.0, 1.0, n_examinees)
    rows = []
    for name, used in (("mixed GPCM + 2PL", bank), ("all scored 0/1 (2PL)", dichotomised(bank))):
        pool = PolyItemPool(used)
        estimates = {length: [] for length in TEST_LENGTHS}
        answer_rng = np.random.default_rng(seed + 2)
        started = time.perf_counter()
        steps = 0
        for theta in thetas.tolist():
            session = PolyCatSession(pool, rules=StoppingRule(max_items=max(TEST_LENGTHS)))
            step = session.next_step()
            while not step.stop:
                score = simulate_scores(used.subset([step.next_item]), [theta], answer_rng)[0, 0]
                session.record(step.next_item, score)
                steps += 1
                step = session.next_step()
                if len(session.administered) in estimates:
                    estimates[len(session.administered)].append(step.theta)
        seconds = time.perf_counter() - started
        row = [name]
        for length in TEST_LENGTHS:
            error = np.array(estimates[length]) - thetas
            row.append(f"{np.sqrt(np.mean(error**2)):.3f} / {np.mean(error):+.3f}")
        row.append(f"{seconds / steps * 1e6:.0f}")
        rows.append(row)
    headers = ["bank", *[f"RMSE/bias @{n}" for n in TEST_LENGTHS], "us/step (sim)"]
    print(table(headers, rows))
    print(f"   {n_examinees} examinees ~ N(0, 1); the simulated step includes drawing the answer.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    checks = bench_step(args.seed, repeats=300 if args.quick else 2000)
    bench_cat_accuracy(args.seed, n_examinees=100 if args.quick else 400)
    print("\n== Targets ==")
    for line in checks:
        print(f" - {line}")
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
