"""The one set of rules an item must pass, whichever way it arrives: the editor, a CSV or JSON
import line, or the REST API. Raw values in, cleaned values or per-field messages out, so each
caller can put a message where its user looks (a form field, "line 7, column 'b'", a 400 body).
"""

import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dreamseed.itembank.kinds import (
    WITH_OPTIONS,
    ItemKind,
    definition_clean,
    is_scored,
    max_score,
)
from dreamseed.itembank.models import POLYTOMOUS_MODELS, IrtModel, ItemStatus
from dreamseed.itembank.sanitize import images_without_alt, option_clean, stem_clean

OPTION_KEYS = "ABCDEF"
MIN_OPTIONS = 2
OPTION_FIELDS = tuple(f"option_{key.lower()}" for key in OPTION_KEYS)
EXTERNAL_ID_MAX_LENGTH = 64
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_OPTION_KEY = re.compile(r"^[A-Z0-9]{1,4}$")
STEM_MAX_CHARS = 200_000
OPTION_MAX_CHARS = 20_000
TEXT_LIMITS = {"subject": 80, "grade": 20, "content_area": 80}
STANDARD_MAX_LENGTH = 60
MAX_STANDARDS = 20
_STANDARD_SEPARATORS = re.compile(r"[;,|]")
A_MAX = 10.0
B_LIMIT = 10.0
NEEDS_DIFFICULTY = (ItemStatus.ACTIVE,)
# A polytomous item scores 0..m with 1 <= m <= MAX_STEPS (the engine's 20 categories).
MAX_STEPS = 19
_STEP_SEPARATORS = re.compile(r"[;|]")


@dataclass(frozen=True)
class ItemValues:
    """An item as validated: sanitised content, parsed parameters, normalised metadata."""

    external_id: str  # "" when the caller gave none
    status: str
    subject: str
    grade: str
    content_area: str
    standards: tuple[str, ...]
    model: str
    a: float
    b: float | None
    c: float
    d: float
    se_a: float | None
    se_b: float | None
    se_c: float | None
    stem: str
    options: tuple[tuple[str, str], ...]  # (key, sanitised text)
    correct_key: str
    kind: str = ItemKind.SINGLE
    answer: str = "{}"  # the kind's answer object as canonical JSON (hashable, comparable)
    # GPCM step difficulties / GRM boundaries (empty for dichotomous items).
    steps: tuple[float, ...] = ()

    @property
    def options_json(self) -> list[dict]:
        return [{"key": key, "text": text} for key, text in self.options]

    @property
    def answer_json(self) -> dict:
        return json.loads(self.answer)

    @property
    def content(self) -> tuple:
        return (self.stem, self.options, self.correct_key, self.kind, self.answer)

    @property
    def parameters(self) -> tuple:
        return (self.model, self.a, self.b, self.c, self.d, self.steps)


class _Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(str(message))


def _text(raw, name: str, errors: _Errors, limit: int) -> str:
    value = "" if raw is None else str(raw).strip()
    if "\x00" in value:
        errors.add(name, _("This contains a null character; remove it."))
        return ""
    if len(value) > limit:
        errors.add(
            name,
            _("Use at most %(limit)s characters (this has %(count)s).")
            % {"limit": limit, "count": len(value)},
        )
    return value


def _number(raw, name: str, errors: _Errors, default: float | None) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, bool):
        errors.add(name, _("Enter a number."))
        return default
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        shown = str(raw).strip()[:30]
        if isinstance(raw, str) and "," in raw and raw.replace(",", "", 1).strip().isdigit():
            errors.add(
                name, _("“%(value)s” is not a number: use a dot for decimals.") % {"value": shown}
            )
        else:
            errors.add(name, _("“%(value)s” is not a number.") % {"value": shown})
        return default
    if not math.isfinite(value):
        errors.add(name, _("Enter a finite number."))
        return default
    return value


_ALLOWED = {
    choices: tuple(choice.value for choice in choices)
    for choices in (ItemStatus, IrtModel, ItemKind)
}


def _choice(raw, name: str, errors: _Errors, choices, default: str, *, upper: bool) -> str:
    value = "" if raw is None else str(raw).strip()
    if not value:
        return default
    value = value.upper() if upper else value.lower()
    allowed = _ALLOWED[choices]
    if value not in allowed:
        errors.add(
            name,
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": str(raw).strip()[:30], "allowed": ", ".join(allowed)},
        )
        return default
    return value


def _standards(raw, errors: _Errors) -> tuple[str, ...]:
    if raw is None:
        return ()
    parts = raw if isinstance(raw, list | tuple) else _STANDARD_SEPARATORS.split(str(raw))
    tags: list[str] = []
    for part in parts:
        tag = str(part).strip().replace("\x00", "")
        if not tag or tag in tags:
            continue
        if len(tag) > STANDARD_MAX_LENGTH:
            errors.add(
                "standards",
                _("“%(tag)s…” is longer than %(limit)s characters.")
                % {"tag": tag[:20], "limit": STANDARD_MAX_LENGTH},
            )
            continue
        tags.append(tag)
    if len(tags) > MAX_STANDARDS:
        errors.add("standards", _("Use at most %(limit)s tags.") % {"limit": MAX_STANDARDS})
    return tuple(tags)


def _options(raw: Mapping, errors: _Errors) -> tuple[tuple[str, str], ...]:
    """Options either as a list (``options``: [{"key", "text"}] or texts) or as the six
    ``option_a`` .. ``option_f`` values of a form or a CSV line."""
    slots: list[tuple[str, str, object]] = []  # (error field, key, raw text)
    listed = raw.get("options")
    if listed not in (None, ""):
        if not isinstance(listed, list | tuple):
            errors.add("options", _("Give the options as a list."))
            return ()
        for index, entry in enumerate(listed):
            field = OPTION_FIELDS[index] if index < len(OPTION_FIELDS) else "options"
            if isinstance(entry, Mapping):
                key = str(entry.get("key") or "").strip().upper() or _default_key(index)
                slots.append((field, key, entry.get("text")))
            else:
                slots.append((field, _default_key(index), entry))
    else:
        slots = [
            (field, key, raw.get(field))
            for field, key in zip(OPTION_FIELDS, OPTION_KEYS, strict=True)
        ]
    if len(slots) > len(OPTION_KEYS):
        errors.add("options", _("Use at most %(count)s options.") % {"count": len(OPTION_KEYS)})
        return ()

    options: list[tuple[str, str]] = []
    gap_at: str | None = None
    for field, key, text in slots:
        raw_text = "" if text is None else str(text)
        if len(raw_text) > OPTION_MAX_CHARS:
            errors.add(field, _("This option is too long."))
            continue
        clean = option_clean(raw_text)
        if not clean:
            gap_at = gap_at or field
            continue
        if gap_at is not None:
            errors.add(
                gap_at, _("This option is empty but a later one is not: fill them in order.")
            )
            gap_at = "reported"
        if not _OPTION_KEY.match(key):
            errors.add(field, _("Option keys are letters or digits, like A."))
            continue
        if any(key == existing for existing, _unused in options):
            errors.add(field, _("Two options have the key %(key)s.") % {"key": key})
            continue
        if images_without_alt(clean):
            errors.add(
                field,
                _(
                    "The image in option %(key)s needs alt text describing it for students "
                    "who cannot see it."
                )
                % {"key": key},
            )
        options.append((key, clean))
    if len(options) < MIN_OPTIONS:
        errors.add(
            OPTION_FIELDS[len(options)] if len(options) < len(OPTION_FIELDS) else "options",
            _("An item needs at least %(count)s options.") % {"count": MIN_OPTIONS},
        )
    return tuple(options)


def _steps(raw, errors: _Errors) -> tuple[float, ...]:
    """Category steps as a list (JSON) or text "-1.2;0.3;1.1" (CSV, form)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ()
    if isinstance(raw, list | tuple):
        parts = list(raw)
    elif isinstance(raw, str):
        parts = [part for part in _STEP_SEPARATORS.split(raw) if part.strip()]
    else:
        errors.add("steps", _("Give the steps as a list of numbers, like -1.2;0.3;1.1."))
        return ()
    steps: list[float] = []
    for position, part in enumerate(parts, start=1):
        local = _Errors()
        value = _number(part, "steps", local, None)
        if local or value is None:
            shown = str(part).strip()[:30]
            errors.add(
                "steps",
                _("Step %(n)s (“%(value)s”) is not a number; separate steps with ;.")
                % {"n": position, "value": shown},
            )
            return ()
        if abs(value) > B_LIMIT:
            errors.add(
                "steps",
                _("Step %(n)s must be between -%(l)s and %(l)s.") % {"n": position, "l": B_LIMIT},
            )
            return ()
        steps.append(value)
    if len(steps) > MAX_STEPS:
        errors.add("steps", _("Use at most %(count)s steps.") % {"count": MAX_STEPS})
        return ()
    return tuple(steps)


def _polytomous_check(model, steps, b, status, kind, answer, errors: _Errors):
    """The steps agree with the model and with the item's scoring; returns the b to keep (a
    polytomous item's b is the mean of its steps)."""
    maximum = max_score(kind, answer)
    if model not in POLYTOMOUS_MODELS:
        if steps:
            errors.add(
                "steps",
                _("Only GPCM and GRM items have category steps: clear them or choose GPCM or GRM."),
            )
        if maximum > 1:
            errors.add(
                "model",
                _(
                    "This item gives up to %(max)s points: choose GPCM or GRM (partial credit), or "
                    "score it right/wrong."
                )
                % {"max": maximum},
            )
        return b
    if maximum > 0 and steps and len(steps) != maximum:
        errors.add(
            "steps",
            _("This item scores 0 to %(max)s, so it needs %(max)s steps (it has %(count)s).")
            % {"max": maximum, "count": len(steps)},
        )
    if model == IrtModel.GRM and any(
        later <= earlier for earlier, later in itertools.pairwise(steps)
    ):
        errors.add("steps", _("GRM boundaries must increase from one step to the next."))
    if not steps:
        if status in NEEDS_DIFFICULTY:
            errors.add(
                "steps",
                _(
                    "An active GPCM or GRM item needs its steps. Keep it in pilot until it is "
                    "calibrated."
                ),
            )
        elif b is not None:
            errors.add("steps", _("Give the steps of a GPCM or GRM item, not only b."))
        return None
    return round(sum(steps) / len(steps), 10)


def _has_options(raw: Mapping) -> bool:
    listed = raw.get("options")
    if isinstance(listed, list | tuple) and listed:
        return True
    return any(str(raw.get(field) or "").strip() for field in OPTION_FIELDS)


def _default_key(index: int) -> str:
    return OPTION_KEYS[index] if index < len(OPTION_KEYS) else str(index + 1)


def item_values_clean(raw: Mapping) -> tuple[ItemValues | None, dict[str, list[str]]]:
    """Validate one item's raw values; return (values, {}) or (None, {field: [messages]})."""
    errors = _Errors()
    external_id = _text(raw.get("external_id"), "external_id", errors, EXTERNAL_ID_MAX_LENGTH)
    if external_id and not _EXTERNAL_ID.match(external_id):
        errors.add(
            "external_id",
            _("Use letters, digits and . _ : - only, starting with a letter or digit."),
        )
    status = _choice(raw.get("status"), "status", errors, ItemStatus, ItemStatus.DRAFT, upper=False)
    model = _choice(raw.get("model"), "model", errors, IrtModel, IrtModel.THREE_PL, upper=True)
    texts = {name: _text(raw.get(name), name, errors, limit) for name, limit in TEXT_LIMITS.items()}
    standards = _standards(raw.get("standards"), errors)

    a = _number(raw.get("a"), "a", errors, 1.0)
    b = _number(raw.get("b"), "b", errors, None)
    c = _number(raw.get("c"), "c", errors, 0.0)
    d = _number(raw.get("d"), "d", errors, 1.0)
    ses = {name: _number(raw.get(name), name, errors, None) for name in ("se_a", "se_b", "se_c")}
    if "a" not in errors and not 0 < a <= A_MAX:
        errors.add("a", _("Discrimination a must be above 0 and at most %(max)s.") % {"max": A_MAX})
    if "b" not in errors and b is not None and abs(b) > B_LIMIT:
        errors.add("b", _("Difficulty b must be between -%(l)s and %(l)s.") % {"l": B_LIMIT})
    polytomous = model in POLYTOMOUS_MODELS
    steps = _steps(raw.get("steps"), errors)
    if "b" not in errors and b is None and status in NEEDS_DIFFICULTY and not polytomous:
        errors.add(
            "b",
            _("An active item needs a difficulty b. Keep it in pilot until it is calibrated."),
        )
    if "c" not in errors and not 0 <= c < 1:
        errors.add("c", _("Guessing c must be at least 0 and below 1."))
    if "d" not in errors and "c" not in errors and not c < d <= 1:
        errors.add("d", _("Upper asymptote d must be above c and at most 1."))
    if "model" not in errors and "c" not in errors and "d" not in errors:
        if polytomous and (c != 0 or d != 1):
            errors.add(
                "c" if c != 0 else "d",
                _("A GPCM or GRM item has no guessing or upper asymptote: set c to 0 and d to 1."),
            )
        elif model in (IrtModel.ONE_PL, IrtModel.TWO_PL) and c != 0:
            errors.add(
                "c",
                _("A %(model)s item has no guessing parameter: set c to 0 or choose 3PL.")
                % {"model": model},
            )
        if model != IrtModel.FOUR_PL and d != 1 and not polytomous:
            errors.add(
                "d",
                _("Only a 4PL item has an upper asymptote below 1: set d to 1 or choose 4PL."),
            )
    for name, value in ses.items():
        if name not in errors and value is not None and value < 0:
            errors.add(name, _("A standard error cannot be negative."))

    raw_stem = "" if raw.get("stem") is None else str(raw.get("stem"))
    stem = ""
    if len(raw_stem) > STEM_MAX_CHARS:
        errors.add("stem", _("The question is too long."))
    else:
        stem = stem_clean(raw_stem)
        if not stem:
            errors.add("stem", _("Write the question."))
        elif images_without_alt(stem):
            errors.add(
                "stem",
                _(
                    "The image in the question needs alt text describing it for students who "
                    "cannot see it."
                ),
            )
    kind = _choice(raw.get("kind"), "kind", errors, ItemKind, ItemKind.SINGLE, upper=False)
    if kind in WITH_OPTIONS:
        options = _options(raw, errors)
    else:
        options = ()
        if _has_options(raw):
            errors.add(
                "options",
                _("A “%(kind)s” item has no options: leave them empty or change the type.")
                % {"kind": ItemKind(kind).label},
            )
    correct_key, answer = definition_clean(kind, raw, [key for key, _unused in options], errors)
    if "model" not in errors and "steps" not in errors and "b" not in errors:
        b = _polytomous_check(model, steps, b, status, kind, answer, errors)
    if not is_scored(kind, answer) and status == ItemStatus.ACTIVE:
        errors.add(
            "status",
            _("An item that is not scored cannot be active: keep it in pilot or draft."),
        )

    if errors:
        return None, dict(errors)
    return (
        ItemValues(
            external_id=external_id,
            status=status,
            standards=standards,
            model=model,
            a=a,
            b=b,
            c=c,
            d=d,
            stem=stem,
            options=options,
            correct_key=correct_key,
            kind=kind,
            answer=json.dumps(answer, sort_keys=True, ensure_ascii=False),
            steps=steps,
            **texts,
            **ses,
        ),
        {},
    )
