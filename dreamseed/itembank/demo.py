"""The demo school's item bank: 330 generated mathematics items whose difficulty follows their real
complexity (one-digit addition b ~ -2.5 ... multi-step equations b ~ +2.5), plus 20 pilot items.

Every item is generated from a seeded random generator, so the bank is the same on every
machine; each has a real correct answer and three distractors made from typical mistakes
(a forgotten carry, adding numerators and denominators, area for perimeter, ...).
`demo_bank_seed()` is idempotent: it runs inside the school's schema and only adds what is
missing.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from dreamseed.itembank.import_export import ImportPlan, ImportRow
from dreamseed.itembank.models import Item
from dreamseed.itembank.services import plan_apply
from dreamseed.itembank.validation import item_values_clean

SEED = 2026
ITEMS_PER_TEMPLATE = 11
PILOT_ITEMS = 20
ID_PREFIX = "DEMO-"
SUBJECT = "Mathematics"


@dataclass(frozen=True)
class Generated:
    stem: str
    correct: str
    distractors: list[str]
    b: float  # difficulty before jitter
    grade: str
    standard: str


def _frac(n: int, d: int) -> str:
    # \dfrac: full-size fractions, easier to read for young students than inline \frac.
    return f"$\\dfrac{{{n}}}{{{d}}}$"


def _reduce(n: int, d: int) -> tuple[int, int]:
    g = math.gcd(n, d)
    return n // g, d // g


# --- Number sense ---------------------------------------------------------------------------------


def greatest_two_digit(rng):
    numbers = rng.sample(range(10, 100), 4)
    best = max(numbers)
    return Generated(
        f"Which number is the greatest: {', '.join(map(str, numbers))}?",
        str(best), [str(n) for n in numbers if n != best], -2.2, "2", "2.NBT.A.4",
    )  # fmt: skip


def place_value(rng):
    digits = rng.sample(range(1, 10), 4)
    number = int("".join(map(str, digits)))
    position = rng.randrange(4)
    digit = digits[position]
    value = digit * 10 ** (3 - position)
    wrong = {digit * 10**k for k in range(4)} - {value}
    return Generated(
        f"What is the value of the digit {digit} in {number:,}?",
        f"{value:,}", [f"{w:,}" for w in sorted(wrong)], -1.5, "3", "3.NBT.A.1",
    )  # fmt: skip


def rounding_hundreds(rng):
    number = rng.randrange(101, 999)
    if number % 100 == 50:
        number += 1
    correct = round(number, -2)
    other = correct + 100 if number % 100 < 50 else correct - 100
    return Generated(
        f"Round {number} to the nearest hundred.",
        str(correct), [str(round(number, -1)), str(other), str(number - number % 10)], -0.8, "3",
        "3.NBT.A.1",
    )  # fmt: skip


def smallest_integer(rng):
    numbers = rng.sample([n for n in range(-15, 16) if n != 0], 4)
    smallest = min(numbers)
    return Generated(
        f"Which number is the smallest: {', '.join(map(str, numbers))}?",
        str(smallest), [str(n) for n in numbers if n != smallest], 0.1, "6", "6.NS.C.7",
    )  # fmt: skip


# --- Arithmetic -----------------------------------------------------------------------------------


def add_one_digit(rng):
    a, b = rng.randrange(1, 10), rng.randrange(1, 10)
    return Generated(
        f"What is {a} + {b}?", str(a + b), [str(a + b + 1), str(a + b - 1), str(abs(a - b))],
        -2.5, "1", "1.OA.C.6",
    )  # fmt: skip


def add_two_digit_no_carry(rng):
    a = rng.randrange(1, 5) * 10 + rng.randrange(0, 5)
    b = rng.randrange(1, 5) * 10 + rng.randrange(0, 5)
    return Generated(
        f"What is {a} + {b}?", str(a + b), [str(a + b + 10), str(a + b - 1), str(a + b + 1)],
        -1.9, "2", "2.NBT.B.5",
    )  # fmt: skip


def add_two_digit_carry(rng):
    a = rng.randrange(1, 9) * 10 + rng.randrange(5, 10)
    b = rng.randrange(1, 9) * 10 + rng.randrange(5, 10)
    return Generated(
        f"What is {a} + {b}?", str(a + b), [str(a + b - 10), str(a + b + 10), str(a + b - 1)],
        -1.3, "2", "2.NBT.B.5",
    )  # fmt: skip


def subtract_borrow(rng):
    a = rng.randrange(3, 10) * 10 + rng.randrange(0, 5)
    b = rng.randrange(1, a // 10) * 10 + rng.randrange(5, 10)
    # The classic mistake: subtract the smaller digit from the larger in each column.
    naive = (a // 10 - b // 10) * 10 + abs(a % 10 - b % 10)
    return Generated(
        f"What is {a} − {b}?", str(a - b), [str(naive), str(a - b + 10), str(a - b - 1)],
        -0.9, "2", "2.NBT.B.5",
    )  # fmt: skip


def multiplication_facts(rng):
    a, b = rng.randrange(3, 10), rng.randrange(3, 10)
    return Generated(
        f"What is {a} × {b}?", str(a * b), [str(a * (b + 1)), str(a + b), str(a * b - a - 1)],
        -0.6, "3", "3.OA.C.7",
    )  # fmt: skip


def multiply_two_by_two(rng):
    a, b = rng.randrange(12, 50), rng.randrange(12, 40)
    partial = a * (b % 10) + a * (b // 10)  # forgot the place value of the tens
    return Generated(
        f"What is {a} × {b}?", str(a * b), [str(partial), str(a * b + 10), str(a * b - a)],
        0.6, "5", "5.NBT.B.5",
    )  # fmt: skip


def division_exact(rng):
    divisor, quotient = rng.randrange(3, 10), rng.randrange(12, 99)
    return Generated(
        f"What is {divisor * quotient} ÷ {divisor}?", str(quotient),
        [str(quotient + 1), str(quotient - 10), str(quotient * 10 // divisor + 1)], 0.3, "4",
        "4.NBT.B.6",
    )  # fmt: skip


def order_of_operations(rng):
    a, b, c = rng.randrange(2, 10), rng.randrange(2, 10), rng.randrange(2, 10)
    return Generated(
        f"What is {a} + {b} × {c}?", str(a + b * c),
        [str((a + b) * c), str(a + b + c), str(a * b + c)], 0.9, "5", "5.OA.A.1",
    )  # fmt: skip


# --- Fractions ------------------------------------------------------------------------------------


def fraction_of_parts(rng):
    d = rng.randrange(3, 10)
    n = rng.randrange(1, d)
    return Generated(
        f"A pizza is cut into {d} equal slices and Mia eats {n}. What fraction of the pizza "
        "does she eat?",
        _frac(n, d), [_frac(d, n), _frac(n, d + n), _frac(d - n, d) if d - n != n else _frac(1, d)],
        -1.2, "3", "3.NF.A.1",
    )  # fmt: skip


def equivalent_fraction(rng):
    d = rng.randrange(2, 9)
    n, d = _reduce(rng.randrange(1, d), d)
    k = rng.randrange(2, 5)
    return Generated(
        f"Which number makes {_frac(n, d)} = $\\dfrac{{?}}{{{d * k}}}$ true?",
        str(n * k), [str(n + k), str(n * k + 1), str(d * k - n)], -0.3, "4", "4.NF.A.1",
    )  # fmt: skip


def add_like_fractions(rng):
    d = rng.randrange(5, 13)
    a, b = rng.randrange(1, d // 2), rng.randrange(1, d // 2)
    return Generated(
        f"What is {_frac(a, d)} + {_frac(b, d)}?",
        _frac(a + b, d), [_frac(a + b, 2 * d), _frac(a * b, d), _frac(a + b, d + 1)], -0.2, "4",
        "4.NF.B.3",
    )  # fmt: skip


def fraction_of_number(rng):
    d = rng.choice([2, 3, 4, 5, 6])
    n = rng.randrange(1, d)
    whole = d * rng.randrange(2, 9)
    return Generated(
        f"What is {_frac(n, d)} of {whole}?", str(whole * n // d),
        [str(whole // d), str(whole * d // n) if whole * d % n == 0 else str(whole - n),
         str(whole * n)], 0.2, "5", "5.NF.B.4",
    )  # fmt: skip


def add_unlike_fractions(rng):
    b, d = rng.sample([2, 3, 4, 5, 6], 2)
    a, c = rng.randrange(1, b), rng.randrange(1, d)
    n, m = _reduce(a * d + c * b, b * d)
    return Generated(
        f"What is {_frac(a, b)} + {_frac(c, d)}? Give the simplest form.",
        _frac(n, m), [_frac(a + c, b + d), _frac(a + c, b * d), _frac(a * c, b * d)], 0.9, "5",
        "5.NF.A.1",
    )  # fmt: skip


def divide_fractions(rng):
    a, b = rng.randrange(1, 5), rng.randrange(2, 7)
    c, d = rng.randrange(1, 5), rng.randrange(2, 7)
    n, m = _reduce(a * d, b * c)
    wrong_n, wrong_m = _reduce(a * c, b * d)
    flipped_n, flipped_m = _reduce(b * c, a * d)
    return Generated(
        f"What is {_frac(a, b)} ÷ {_frac(c, d)}? Give the simplest form.",
        _frac(n, m) if m != 1 else str(n), [_frac(wrong_n, wrong_m), _frac(flipped_n, flipped_m),
                                            _frac(a + d, b + c)], 1.4, "6", "6.NS.A.1",
    )  # fmt: skip


# --- Algebra --------------------------------------------------------------------------------------


def one_step_addition(rng):
    a, x = rng.randrange(2, 20), rng.randrange(1, 20)
    return Generated(
        f"Solve for $x$: $x + {a} = {x + a}$", f"$x = {x}$",
        [f"$x = {x + 2 * a}$", f"$x = {x + 1}$", f"$x = {a}$"], -0.4, "6", "6.EE.B.7",
    )  # fmt: skip


def one_step_multiplication(rng):
    a, x = rng.randrange(2, 10), rng.randrange(2, 13)
    return Generated(
        f"Solve for $x$: ${a}x = {a * x}$", f"$x = {x}$",
        [f"$x = {a * x - a}$", f"$x = {a * x * a}$", f"$x = {x + 1}$"], 0.1, "6", "6.EE.B.7",
    )  # fmt: skip


def evaluate_square(rng):
    x, k = rng.randrange(2, 10), rng.randrange(1, 10)
    return Generated(
        f"What is the value of $x^2 + {k}$ when $x = {x}$?", str(x * x + k),
        [str(2 * x + k), str((x + k) ** 2), str(x * x * k)], 0.6, "6", "6.EE.A.2",
    )  # fmt: skip


def two_step_equation(rng):
    a, b, x = rng.randrange(2, 8), rng.randrange(1, 15), rng.randrange(-6, 10)
    c = a * x + b
    wrong = (c + b) / a
    return Generated(
        f"Solve for $x$: ${a}x + {b} = {c}$", f"$x = {x}$",
        [f"$x = {_short(wrong)}$", f"$x = {c - b}$", f"$x = {x + 1}$"], 1.0, "7", "7.EE.B.4",
    )  # fmt: skip


def expand_product(rng):
    p, q = rng.sample(range(1, 8), 2)
    return Generated(
        f"Which is equal to $(x + {p})(x + {q})$?", f"$x^2 + {p + q}x + {p * q}$",
        [f"$x^2 + {p * q}x + {p + q}$", f"$x^2 + {p * q}$", f"$2x + {p + q}$"], 1.7, "8",
        "A-SSE.A.2",
    )  # fmt: skip


def multi_step_equation(rng):
    while True:
        a, b, c = rng.randrange(2, 7), rng.randrange(1, 9), rng.randrange(1, 6)
        x = rng.randrange(-5, 9)
        if a != c:
            break
    d = a * (x + b) - c * x
    careless = (d - b) / (a - c)  # forgot to distribute a over b
    return Generated(
        f"Solve for $x$: ${a}(x + {b}) = {c}x + {d}$", f"$x = {x}$",
        [f"$x = {_short(careless)}$", f"$x = {-x if x else x + 2}$", f"$x = {x + b}$"], 2.3, "8",
        "8.EE.C.7",
    )  # fmt: skip


def _short(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


# --- Geometry -------------------------------------------------------------------------------------


def rectangle_perimeter(rng):
    w, h = rng.sample(range(2, 15), 2)
    return Generated(
        f"A rectangle is {w} cm long and {h} cm wide. What is its perimeter?",
        f"{2 * (w + h)} cm", [f"{w * h} cm", f"{w + h} cm", f"{2 * w + h} cm"], -0.8, "3",
        "3.MD.D.8",
    )  # fmt: skip


def rectangle_area(rng):
    w, h = rng.sample(range(3, 13), 2)
    return Generated(
        f"What is the area of a rectangle {w} m by {h} m?",
        f"{w * h} m²", [f"{2 * (w + h)} m²", f"{w + h} m²", f"{w * h * 2} m²"], -0.4, "3",
        "3.MD.C.7",
    )  # fmt: skip


def triangle_angle(rng):
    a, b = rng.randrange(30, 80), rng.randrange(30, 80)
    return Generated(
        f"Two angles of a triangle are {a}° and {b}°. What is the third angle?",
        f"{180 - a - b}°", [f"{360 - a - b}°", f"{a + b}°", f"{90 - abs(a - b) // 2}°"], 0.3, "7",
        "7.G.B.5",
    )  # fmt: skip


def triangle_area(rng):
    base, height = rng.randrange(4, 20, 2), rng.randrange(3, 15)
    return Generated(
        f"A triangle has a base of {base} cm and a height of {height} cm. What is its area?",
        f"{base * height // 2} cm²", [f"{base * height} cm²", f"{base + height} cm²",
                                      f"{base * height // 2 + base} cm²"], 0.5, "6", "6.G.A.1",
    )  # fmt: skip


def prism_volume(rng):
    a, b, c = rng.randrange(2, 9), rng.randrange(2, 9), rng.randrange(2, 9)
    return Generated(
        f"What is the volume of a box {a} cm × {b} cm × {c} cm?",
        f"{a * b * c} cm³", [f"{a + b + c} cm³", f"{2 * (a * b + b * c + a * c)} cm³",
                             f"{a * b + c} cm³"], 0.4, "5", "5.MD.C.5",
    )  # fmt: skip


def pythagoras(rng):
    p, q, r = rng.choice([(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (6, 8, 10)])
    k = rng.randrange(1, 4)
    p, q, r = p * k, q * k, r * k
    return Generated(
        f"A right triangle has legs of {p} and {q}. How long is the hypotenuse?",
        str(r), [str(p + q), str(r + 1), f"$\\sqrt{{{p + q}}}$"], 1.5, "8", "8.G.B.7",
    )  # fmt: skip


def circle_area(rng):
    radius = rng.randrange(2, 11)
    return Generated(
        f"A circle has a radius of {radius}. What is its area?",
        f"${radius * radius}\\pi$", [f"${2 * radius}\\pi$", f"${radius}\\pi$",
                                     f"${4 * radius * radius}\\pi$"], 1.8, "7", "7.G.B.4",
    )  # fmt: skip


TEMPLATES: dict[str, tuple[str, list[Callable]]] = {
    "NUM": ("Number sense", [greatest_two_digit, place_value, rounding_hundreds, smallest_integer]),
    "ARI": (
        "Arithmetic",
        [
            add_one_digit,
            add_two_digit_no_carry,
            add_two_digit_carry,
            subtract_borrow,
            multiplication_facts,
            multiply_two_by_two,
            division_exact,
            order_of_operations,
        ],
    ),
    "FRA": (
        "Fractions",
        [
            fraction_of_parts,
            equivalent_fraction,
            add_like_fractions,
            fraction_of_number,
            add_unlike_fractions,
            divide_fractions,
        ],
    ),
    "ALG": (
        "Algebra",
        [
            one_step_addition,
            one_step_multiplication,
            evaluate_square,
            two_step_equation,
            expand_product,
            multi_step_equation,
        ],
    ),
    "GEO": (
        "Geometry",
        [
            rectangle_perimeter,
            rectangle_area,
            triangle_angle,
            triangle_area,
            prism_volume,
            pythagoras,
            circle_area,
        ],
    ),
}


def _options(rng, generated: Generated) -> tuple[list[dict], str]:
    """Four distinct options in a random order, and the correct one's key."""
    choices = [generated.correct]
    for distractor in generated.distractors:
        if distractor not in choices:
            choices.append(distractor)
    bump = 2
    while len(choices) < 4:  # rare collisions: fill with near misses
        filler = f"{generated.correct} " if bump > 50 else _near(generated.correct, bump)
        if filler not in choices:
            choices.append(filler)
        bump += 1
    choices = choices[:4]
    rng.shuffle(choices)
    keys = "ABCD"
    return [{"key": k, "text": t} for k, t in zip(keys, choices, strict=True)], keys[
        choices.index(generated.correct)
    ]


def _near(text: str, bump: int) -> str:
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "-")
    try:
        number = int(digits)
    except ValueError:
        return f"{text} ({bump})"
    return text.replace(digits, str(number + bump), 1)


def demo_bank_rows() -> list[dict]:
    """The demo items as import rows (deterministic)."""
    rows = []
    for code, (area, generators) in TEMPLATES.items():
        rng = random.Random(f"{SEED}-{code}")
        counter = 0
        for generator in generators:
            for _ in range(ITEMS_PER_TEMPLATE):
                counter += 1
                generated = generator(rng)
                options, key = _options(rng, generated)
                b = max(-3.0, min(3.0, generated.b + rng.gauss(0.0, 0.18)))
                rows.append(
                    {
                        "external_id": f"{ID_PREFIX}{code}-{counter:03d}",
                        "status": "active",
                        "subject": SUBJECT,
                        "grade": generated.grade,
                        "content_area": area,
                        "standards": [generated.standard, generator.__name__.replace("_", "-")],
                        "model": "3PL",
                        "a": round(rng.uniform(0.8, 2.0), 3),
                        "b": round(b, 3),
                        "c": round(min(0.3, max(0.1, rng.gauss(0.2, 0.03))), 3),
                        "d": 1.0,
                        "stem": generated.stem,
                        "options": options,
                        "correct_key": key,
                    }
                )
    # Pilot items: new questions of the same kinds, difficulty unknown until calibrated.
    rng = random.Random(f"{SEED}-PILOT")
    generators = [(area, g) for area, gs in TEMPLATES.values() for g in gs]
    for index in range(PILOT_ITEMS):
        area, generator = generators[(index * 7) % len(generators)]
        generated = generator(rng)
        options, key = _options(rng, generated)
        rows.append(
            {
                "external_id": f"{ID_PREFIX}PIL-{index + 1:03d}",
                "status": "pilot",
                "subject": SUBJECT,
                "grade": generated.grade,
                "content_area": area,
                "standards": [generated.standard, "pilot"],
                "model": "3PL",
                "a": 1.0,
                "b": None,
                "c": 0.2,
                "d": 1.0,
                "stem": generated.stem,
                "options": options,
                "correct_key": key,
            }
        )
    return rows


@transaction.atomic
def demo_bank_seed() -> int:
    """Add the demo items that are missing (call inside the school's schema); returns how many."""
    existing = set(
        Item.objects.filter(external_id__startswith=ID_PREFIX).values_list("external_id", flat=True)
    )
    plan = ImportPlan()
    for line, raw in enumerate(demo_bank_rows(), start=1):
        if raw["external_id"] in existing:
            continue
        values, errors = item_values_clean(raw)
        if errors:  # a generator bug, not user input: fail loudly
            raise ValueError(f"demo item {raw['external_id']} is invalid: {errors}")
        plan.rows.append(ImportRow(line, None, values, values.external_id))
    if not plan.rows:
        return 0
    plan_apply(plan=plan, user=None)
    return len(plan.rows)
