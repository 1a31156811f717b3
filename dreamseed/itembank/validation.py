"""The one set of rules an item must pass, whichever way it arrives: the editor, a CSV or JSON
import line, or the REST API. Raw values in, cleaned values or per-field messages out, so each
caller can put a message where its user looks (a form field, "line 7, column 'b'", a 400 body).
"""

import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from django import forms
from django.core.exceptions import ValidationError
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


class _Errors:
    """`add(field, message)` for the helpers that check several raw values at once (options,
    a kind's answer), reporting into the form that called them."""

    def __init__(self, form: forms.Form):
        self.form = form

    def add(self, field: str, message: str) -> None:
        self.form.add_error(field, str(message))


class _Raw(forms.Field):
    """A value read as it came (a CSV cell, a JSON value, a list), checked by the form's clean."""

    def clean(self, value):
        return value


class _Text(forms.Field):
    def __init__(self, limit: int, *, pattern: re.Pattern | None = None, **kwargs):
        super().__init__(required=False, **kwargs)
        self.limit, self.pattern = limit, pattern

    def clean(self, value) -> str:
        value = "" if value is None else str(value).strip()
        if "\x00" in value:
            raise ValidationError(_("This contains a null character; remove it."))
        if len(value) > self.limit:
            raise ValidationError(
                _("Use at most %(limit)s characters (this has %(count)s).")
                % {"limit": self.limit, "count": len(value)}
            )
        if value and self.pattern is not None and not self.pattern.match(value):
            raise ValidationError(
                _("Use letters, digits and . _ : - only, starting with a letter or digit.")
            )
        return value


class _Number(forms.Field):
    """A float as a spreadsheet or JSON writes it; blank is the default. The message for "1,5"
    says to use a dot."""

    def __init__(self, default: float | None, **kwargs):
        super().__init__(required=False, **kwargs)
        self.default = default

    def clean(self, value) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return self.default
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            shown = str(value).strip()[:30]
            if (
                isinstance(value, str)
                and "," in value
                and value.replace(",", "", 1).strip().isdigit()
            ):
                raise ValidationError(
                    _("“%(value)s” is not a number: use a dot for decimals.") % {"value": shown}
                ) from None
            raise ValidationError(_("“%(value)s” is not a number.") % {"value": shown}) from None
        if not math.isfinite(number):
            raise ValidationError(_("Enter a finite number."))
        return number


class _Choice(forms.Field):
    """One of a TextChoices' values, in any case; blank is the default."""

    def __init__(self, choices, default: str, *, upper: bool, **kwargs):
        super().__init__(required=False, **kwargs)
        self.allowed = tuple(choice.value for choice in choices)
        self.default, self.upper = default, upper

    def clean(self, value) -> str:
        given = "" if value is None else str(value).strip()
        if not given:
            return self.default
        normalised = given.upper() if self.upper else given.lower()
        if normalised not in self.allowed:
            raise ValidationError(
                _("“%(value)s” is not one of: %(allowed)s.")
                % {"value": given[:30], "allowed": ", ".join(self.allowed)}
            )
        return normalised


class _Standards(forms.Field):
    """Tags as a list, or one cell separated by ; , or |. Blank and repeated tags are dropped."""

    def clean(self, value) -> tuple[str, ...]:
        if value is None:
            return ()
        parts = value if isinstance(value, list | tuple) else _STANDARD_SEPARATORS.split(str(value))
        tags: list[str] = []
        problems: list[str] = []
        for part in parts:
            tag = str(part).strip().replace("\x00", "")
            if not tag or tag in tags:
                continue
            if len(tag) > STANDARD_MAX_LENGTH:
                problems.append(
                    _("“%(tag)s…” is longer than %(limit)s characters.")
                    % {"tag": tag[:20], "limit": STANDARD_MAX_LENGTH}
                )
                continue
            tags.append(tag)
        if len(tags) > MAX_STANDARDS:
            problems.append(_("Use at most %(limit)s tags.") % {"limit": MAX_STANDARDS})
        if problems:
            raise ValidationError(problems)
        return tuple(tags)


class _Steps(forms.Field):
    """Category steps as a list (JSON) or text "-1.2;0.3;1.1" (CSV, form)."""

    def clean(self, value) -> tuple[float, ...]:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ()
        if isinstance(value, list | tuple):
            parts = list(value)
        elif isinstance(value, str):
            parts = [part for part in _STEP_SEPARATORS.split(value) if part.strip()]
        else:
            raise ValidationError(_("Give the steps as a list of numbers, like -1.2;0.3;1.1."))
        steps: list[float] = []
        for position, part in enumerate(parts, start=1):
            try:
                number = _STEP.clean(part)
            except ValidationError:
                number = None
            if number is None:
                raise ValidationError(
                    _("Step %(n)s (“%(value)s”) is not a number; separate steps with ;.")
                    % {"n": position, "value": str(part).strip()[:30]}
                )
            if abs(number) > B_LIMIT:
                raise ValidationError(
                    _("Step %(n)s must be between -%(l)s and %(l)s.")
                    % {"n": position, "l": B_LIMIT}
                )
            steps.append(number)
        if len(steps) > MAX_STEPS:
            raise ValidationError(_("Use at most %(count)s steps.") % {"count": MAX_STEPS})
        return tuple(steps)


_STEP = _Number(None)


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
    gap_reported = False  # one message for the first gap is enough
    for field, key, text in slots:
        raw_text = "" if text is None else str(text)
        if len(raw_text) > OPTION_MAX_CHARS:
            errors.add(field, _("This option is too long."))
            continue
        clean = option_clean(raw_text)
        if not clean:
            gap_at = gap_at or field
            continue
        if gap_at is not None and not gap_reported:
            errors.add(
                gap_at, _("This option is empty but a later one is not: fill them in order.")
            )
            gap_reported = True
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


def _has_options(raw: Mapping) -> bool:
    listed = raw.get("options")
    if isinstance(listed, list | tuple) and listed:
        return True
    return any(str(raw.get(field) or "").strip() for field in OPTION_FIELDS)


def _default_key(index: int) -> str:
    return OPTION_KEYS[index] if index < len(OPTION_KEYS) else str(index + 1)


class ItemRowForm(forms.Form):
    """One item's values as they arrive from the editor, a file line or the API. Fields parse
    one value each; `clean` holds the rules between them (parameters and model, the kind and
    how it is marked, status). Field names are the CSV columns and JSON keys, so each caller
    can put a message where its user looks."""

    external_id = _Text(EXTERNAL_ID_MAX_LENGTH, pattern=_EXTERNAL_ID)
    status = _Choice(ItemStatus, ItemStatus.DRAFT, upper=False)
    model = _Choice(IrtModel, IrtModel.THREE_PL, upper=True)
    subject = _Text(TEXT_LIMITS["subject"])
    grade = _Text(TEXT_LIMITS["grade"])
    content_area = _Text(TEXT_LIMITS["content_area"])
    standards = _Standards(required=False)
    a = _Number(1.0)
    b = _Number(None)
    c = _Number(0.0)
    d = _Number(1.0)
    se_a = _Number(None)
    se_b = _Number(None)
    se_c = _Number(None)
    steps = _Steps(required=False)
    # Read raw and checked together in clean(): the question, its kind and how it is marked.
    stem = _Raw(required=False)
    kind = _Raw(required=False)
    options = _Raw(required=False)
    option_a = _Raw(required=False)
    option_b = _Raw(required=False)
    option_c = _Raw(required=False)
    option_d = _Raw(required=False)
    option_e = _Raw(required=False)
    option_f = _Raw(required=False)
    correct_key = _Raw(required=False)
    answer = _Raw(required=False)
    answer_value = _Raw(required=False)
    answer_tolerance = _Raw(required=False)
    answer_units = _Raw(required=False)
    answer_unit_required = _Raw(required=False)
    accepted_answers = _Raw(required=False)
    case_sensitive = _Raw(required=False)
    scoring = _Raw(required=False)
    partial_tolerance = _Raw(required=False)
    max_points = _Raw(required=False)

    def __init__(self, *args, **kwargs):
        # A form deep-copies its declared fields for every instance; an import validates
        # thousands of rows with this form, which is never rendered and never changes a field,
        # so the rows share the fields (the copy was 60% of an import's validation time).
        self.base_fields = {}
        super().__init__(*args, **kwargs)
        self.fields = dict(type(self).base_fields)

    def clean(self):
        data = self.cleaned_data
        self._clean_parameters(data)
        errors = _Errors(self)
        stem = self._clean_stem(data.get("stem"))
        kind = self._clean_kind(data.get("kind"))
        raw = {name: data.get(name) for name in self.fields}
        if kind in WITH_OPTIONS:
            options = _options(raw, errors)
        else:
            options = ()
            if _has_options(raw):
                self.add_error(
                    "options",
                    _("A “%(kind)s” item has no options: leave them empty or change the type.")
                    % {"kind": ItemKind(kind).label},
                )
        correct_key, answer = definition_clean(kind, raw, [key for key, _unused in options], errors)
        if not any(self.has_error(name) for name in ("model", "steps", "b")):
            data["b"] = _polytomous_check(
                data.get("model"), data.get("steps", ()), data.get("b"), data.get("status"),
                kind, answer, errors,
            )  # fmt: skip
        if not is_scored(kind, answer) and data.get("status") == ItemStatus.ACTIVE:
            self.add_error(
                "status",
                _("An item that is not scored cannot be active: keep it in pilot or draft."),
            )
        data.update(stem=stem, kind=kind, options=options, correct_key=correct_key)
        data["answer"] = json.dumps(answer, sort_keys=True, ensure_ascii=False)
        return data

    def _clean_parameters(self, data) -> None:
        ok = {name: not self.has_error(name) for name in ("model", "a", "b", "c", "d")}
        a, b, c, d = (data.get(name) for name in ("a", "b", "c", "d"))
        if ok["a"] and not 0 < a <= A_MAX:
            self.add_error(
                "a", _("Discrimination a must be above 0 and at most %(max)s.") % {"max": A_MAX}
            )
        if ok["b"] and b is not None and abs(b) > B_LIMIT:
            self.add_error(
                "b", _("Difficulty b must be between -%(l)s and %(l)s.") % {"l": B_LIMIT}
            )
        polytomous = data.get("model") in POLYTOMOUS_MODELS
        if ok["b"] and b is None and data.get("status") in NEEDS_DIFFICULTY and not polytomous:
            self.add_error(
                "b",
                _("An active item needs a difficulty b. Keep it in pilot until it is calibrated."),
            )
        if ok["c"] and not 0 <= c < 1:
            self.add_error("c", _("Guessing c must be at least 0 and below 1."))
            ok["c"] = False
        if ok["d"] and ok["c"] and not c < d <= 1:
            self.add_error("d", _("Upper asymptote d must be above c and at most 1."))
            ok["d"] = False
        if ok["model"] and ok["c"] and ok["d"]:
            model = data.get("model")
            if polytomous and (c != 0 or d != 1):
                self.add_error(
                    "c" if c != 0 else "d",
                    _(
                        "A GPCM or GRM item has no guessing or upper asymptote: "
                        "set c to 0 and d to 1."
                    ),
                )
            elif model in (IrtModel.ONE_PL, IrtModel.TWO_PL) and c != 0:
                self.add_error(
                    "c",
                    _("A %(model)s item has no guessing parameter: set c to 0 or choose 3PL.")
                    % {"model": model},
                )
            if model != IrtModel.FOUR_PL and d != 1 and not polytomous:
                self.add_error(
                    "d",
                    _("Only a 4PL item has an upper asymptote below 1: set d to 1 or choose 4PL."),
                )
        for name in ("se_a", "se_b", "se_c"):
            value = data.get(name)
            if not self.has_error(name) and value is not None and value < 0:
                self.add_error(name, _("A standard error cannot be negative."))

    def _clean_stem(self, raw) -> str:
        raw_stem = "" if raw is None else str(raw)
        if len(raw_stem) > STEM_MAX_CHARS:
            self.add_error("stem", _("The question is too long."))
            return ""
        stem = stem_clean(raw_stem)
        if not stem:
            self.add_error("stem", _("Write the question."))
        elif images_without_alt(stem):
            self.add_error(
                "stem",
                _(
                    "The image in the question needs alt text describing it for students who "
                    "cannot see it."
                ),
            )
        return stem

    def _clean_kind(self, raw) -> str:
        try:
            return _KIND.clean(raw)
        except ValidationError as error:
            self.add_error("kind", error)
            return ItemKind.SINGLE


_KIND = _Choice(ItemKind, ItemKind.SINGLE, upper=False)
_VALUE_FIELDS = tuple(field.name for field in fields(ItemValues))


def item_values_clean(raw: Mapping) -> tuple[ItemValues | None, dict[str, list[str]]]:
    """Validate one item's raw values; return (values, {}) or (None, {field: [messages]})."""
    form = ItemRowForm(data=_FormData(raw))
    if not form.is_valid():
        return None, {name: [str(message) for message in messages]
                      for name, messages in form.errors.items()}  # fmt: skip
    return ItemValues(**{name: form.cleaned_data[name] for name in _VALUE_FIELDS}), {}


class _FormData(dict):
    """The raw values as a form's data: a plain mapping whose lists (options, standards) stay
    lists, unlike a QueryDict's last-value rule."""

    def __init__(self, raw: Mapping):
        super().__init__(raw.items())
