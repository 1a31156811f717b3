"""Item kinds: how each kind of question is defined, answered and marked.

Every kind but `extended` is marked right or wrong, unless the answer object asks for partial
credit (see SCORING RULES below). An item version stores its kind, its options (for the kinds
that have options), the correct key of a single-choice or true/false item, and an `answer`
object with whatever else the kind needs (see ITEM_KINDS below and IMPORT_FORMAT.md).

A student's response is kept as one string (Attempt.selected_choice): a key, keys joined by
",", or the text the student typed. `response_from_data` builds it from a form or a JSON body,
`response_clean` checks it against the item (a message for the student if it cannot be
marked), and `response_correct` marks it.
"""

import math
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ItemKind(models.TextChoices):
    SINGLE = "single", gettext_lazy("Single choice")
    MULTIPLE = "multiple", gettext_lazy("Multiple select")
    TRUE_FALSE = "truefalse", gettext_lazy("True or false")
    NUMERIC = "numeric", gettext_lazy("Numeric entry")
    TEXT = "text", gettext_lazy("Short text")
    ORDERING = "ordering", gettext_lazy("Ordering")
    EXTENDED = "extended", gettext_lazy("Extended text (not scored)")


# Kinds whose options are written by the author (true/false has its own two).
WITH_OPTIONS = frozenset({ItemKind.SINGLE, ItemKind.MULTIPLE, ItemKind.ORDERING})
# Kinds answered by typing.
TYPED = frozenset({ItemKind.NUMERIC, ItemKind.TEXT, ItemKind.EXTENDED})
# Never marked: a pilot-only kind whose answers a teacher reads (unless it has rubric points,
# see max_points below).
UNSCORED = frozenset({ItemKind.EXTENDED})
TRUE_FALSE_KEYS = ("T", "F")
_TRUE_WORDS = {"t", "true", "yes", "y", "1", "verdadero", "v", "참", "예"}
_FALSE_WORDS = {"f", "false", "no", "n", "0", "falso", "거짓", "아니오"}

TYPED_MAX_CHARS = {ItemKind.NUMERIC: 100, ItemKind.TEXT: 500, ItemKind.EXTENDED: 10_000}
ACCEPTED_MAX = 20
ACCEPTED_MAX_CHARS = 200
UNITS_MAX = 10
# Partial credit (issue 24). SCORING RULES, per kind, from the answer object:
# - multiple, {"scoring": "partial"}: score = right keys chosen - wrong keys chosen, floored at 0;
#   the maximum is the number of keys (full credit: exactly the keys).
# - numeric, {"partial_tolerance": p} (p > tolerance): 2 points within the tolerance, 1 point
#   within p, else 0.
# - text {"scoring": "rubric", "max_points": n} and extended {"max_points": n}: 0..n points
#   entered later by a teacher (response_score is None until then).
# Everything else scores 0 or 1. An item whose maximum is above 1 needs a polytomous IRT model
# (GPCM or GRM) with as many steps as its maximum (checked by validation.item_values_clean).
SCORING_PARTIAL = "partial"
SCORING_RUBRIC = "rubric"
MAX_POINTS_LIMIT = 10
NUMERIC_PARTIAL_MAX = 2
# The scoring rules each kind may name (numeric partial credit comes from partial_tolerance).
SCORING_RULES = {
    ItemKind.MULTIPLE: (SCORING_PARTIAL,),
    ItemKind.TEXT: (SCORING_RUBRIC,),
    ItemKind.EXTENDED: (SCORING_RUBRIC,),
}
UNIT_MAX_CHARS = 20
_LIST_SEPARATORS = re.compile(r"[;,]")
_SPACES = re.compile(r"\s+")
# A number as a student types it: sign, digits, one decimal point or comma, an exponent.
_NUMBER = re.compile(r"^\s*([+-−]?\s*(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


def kind_label(kind: str) -> str:
    try:
        return str(ItemKind(kind).label)
    except ValueError:
        return kind


def true_false_label(key: str, *, lazy: bool = False) -> str:
    gettext = gettext_lazy if lazy else _
    return gettext("True") if key == "T" else gettext("False")


# --- Definitions (authoring, import) ------------------------------------------------------------


def _split_list(raw, separator=_LIST_SEPARATORS) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        parts = [str(part) for part in raw]
    else:
        parts = separator.split(str(raw))
    return [part.strip() for part in parts if part is not None and str(part).strip()]


def _yes(raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if raw is None or str(raw).strip() == "":
        return None
    word = str(raw).strip().lower()
    if word in ("yes", "y", "true", "t", "1", "on"):
        return True
    if word in ("no", "n", "false", "f", "0", "off"):
        return False
    raise ValueError(word)


def true_false_key(raw) -> str | None:
    """ "T"/"F" from what a file or form says (T, true, yes, verdadero...); None if neither."""
    word = "" if raw is None else str(raw).strip().lower()
    if word in _TRUE_WORDS:
        return "T"
    if word in _FALSE_WORDS:
        return "F"
    return None


def definition_clean(kind: str, raw: Mapping, option_keys: list[str], errors) -> tuple[str, dict]:
    """(correct_key, answer) for a kind from raw values; problems go to `errors.add(field, msg)`.

    `raw` holds `correct_key` and either an `answer` object or the flat fields of a CSV line
    (answer_value, answer_tolerance, answer_units, answer_unit_required, accepted_answers,
    case_sensitive).
    """
    answer_raw = raw.get("answer")
    if answer_raw in (None, ""):
        answer_raw = {}
    if not isinstance(answer_raw, Mapping):
        errors.add("answer", _("Give the answer as an object."))
        return "", {}
    correct_raw = "" if raw.get("correct_key") is None else str(raw.get("correct_key")).strip()
    scoring = _scoring(answer_raw, raw, errors, SCORING_RULES.get(kind, ()))

    if kind == ItemKind.SINGLE:
        key = correct_raw.upper()
        if not key:
            errors.add("correct_key", _("Choose the correct option."))
        elif option_keys and key not in option_keys:
            errors.add(
                "correct_key",
                _("The correct option “%(key)s” is not one of the options.") % {"key": key[:10]},
            )
        return key, {}

    if kind == ItemKind.TRUE_FALSE:
        key = true_false_key(correct_raw)
        if key is None:
            errors.add("correct_key", _("Say whether the statement is true (T) or false (F)."))
            return "", {}
        return key, {}

    if kind == ItemKind.MULTIPLE:
        keys = [key.upper() for key in _split_list(answer_raw.get("keys") or correct_raw)]
        if not keys:
            errors.add("correct_key", _("Choose at least one correct option."))
            return "", {}
        unknown = [key for key in keys if option_keys and key not in option_keys]
        if unknown:
            errors.add(
                "correct_key",
                _("“%(keys)s” is not one of the options.") % {"keys": ", ".join(unknown)[:20]},
            )
        if len(set(keys)) != len(keys):
            errors.add("correct_key", _("A correct option is listed twice."))
        answer = {"keys": sorted(set(keys))}
        if scoring:
            answer["scoring"] = scoring
        return "", answer

    if kind == ItemKind.ORDERING:
        order = [key.upper() for key in _split_list(answer_raw.get("order") or correct_raw)]
        if not order:
            order = list(option_keys)  # the options as written are the right order
        if option_keys and sorted(order) != sorted(option_keys):
            errors.add(
                "correct_key",
                _("Give the right order as every option key once, like B;A;C (options: %(keys)s).")
                % {"keys": ";".join(option_keys)},
            )
        return "", {"order": order}

    if kind == ItemKind.NUMERIC:
        return "", _numeric_definition(answer_raw, raw, errors)

    if kind == ItemKind.TEXT:
        return "", _text_definition(answer_raw, raw, errors, rubric=scoring == SCORING_RUBRIC)

    # extended: nothing to mark automatically; rubric points make a teacher mark it.
    points = _max_points(answer_raw, raw, errors, required=False)
    return "", ({"max_points": points} if points else {})


def _pick(answer_raw: Mapping, raw: Mapping, name: str, flat: str):
    value = answer_raw.get(name)
    return raw.get(flat) if value is None else value


def _scoring(answer_raw: Mapping, raw: Mapping, errors, allowed: tuple[str, ...]) -> str:
    """The answer's scoring rule ("" for right/wrong), one of `allowed`."""
    value = _pick(answer_raw, raw, "scoring", "scoring")
    word = "" if value is None else str(value).strip().lower()
    if word in ("", "dichotomous", "right-wrong", "right/wrong"):
        return ""
    if word not in allowed and not allowed:
        errors.add(
            "scoring",
            _("This item type is scored right or wrong: leave the scoring rule empty."),
        )
        return ""
    if word not in allowed:
        errors.add(
            "scoring",
            _(
                "“%(value)s” is not a scoring rule of this item type; use %(allowed)s or leave it "
                "empty for right/wrong."
            )
            % {"value": word[:20], "allowed": ", ".join(allowed)},
        )
        return ""
    return word


def _max_points(answer_raw: Mapping, raw: Mapping, errors, *, required: bool) -> int | None:
    value = _pick(answer_raw, raw, "max_points", "max_points")
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add("max_points", _("Give the rubric's largest number of points (1 to 10)."))
        return None
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number.is_integer() and 1 <= number <= MAX_POINTS_LIMIT):
        errors.add(
            "max_points",
            _("The rubric's points must be a whole number from 1 to %(max)s.")
            % {"max": MAX_POINTS_LIMIT},
        )
        return None
    return int(number)


def _numeric_definition(answer_raw: Mapping, raw: Mapping, errors) -> dict:
    def pick(name, flat):
        value = answer_raw.get(name)
        return raw.get(flat) if value is None else value

    value = _float(pick("value", "answer_value"), "answer_value", errors, required=True)
    tolerance = _float(pick("tolerance", "answer_tolerance"), "answer_tolerance", errors)
    if tolerance is None:
        tolerance = 0.0
    elif tolerance < 0:
        errors.add("answer_tolerance", _("The tolerance cannot be negative."))
    units = _split_list(pick("units", "answer_units"), re.compile(r"[;|]"))
    if len(units) > UNITS_MAX:
        errors.add("answer_units", _("Use at most %(count)s units.") % {"count": UNITS_MAX})
    if any(len(unit) > UNIT_MAX_CHARS for unit in units):
        errors.add("answer_units", _("A unit is at most %(count)s characters.") % {"count": 20})
    try:
        unit_required = bool(_yes(pick("unit_required", "answer_unit_required")))
    except ValueError:
        errors.add("answer_unit_required", _("Write yes or no."))
        unit_required = False
    if unit_required and not units:
        errors.add("answer_units", _("List the accepted units, or do not require one."))
    answer = {
        "value": value, "tolerance": tolerance, "units": units, "unit_required": unit_required,
    }  # fmt: skip
    partial = _float(pick("partial_tolerance", "partial_tolerance"), "partial_tolerance", errors)
    if partial is not None:
        if partial <= (tolerance or 0.0):
            errors.add(
                "partial_tolerance",
                _("The partial-credit tolerance must be wider than the tolerance (%(value)s).")
                % {"value": _number_text(tolerance or 0.0)},
            )
        answer["partial_tolerance"] = partial
    return answer


def _float(raw, name, errors, *, required=False) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.add(name, _("Enter the correct number."))
        return None
    if isinstance(raw, bool):
        errors.add(name, _("Enter a number."))
        return None
    number = parse_number(str(raw)) if isinstance(raw, str) else float(raw)
    if number is None or not math.isfinite(number):
        errors.add(name, _("“%(value)s” is not a number.") % {"value": str(raw)[:30]})
        return None
    return number


def _text_definition(answer_raw: Mapping, raw: Mapping, errors, *, rubric: bool) -> dict:
    accepted_raw = answer_raw.get("accepted")
    if accepted_raw is None:
        accepted_raw = raw.get("accepted_answers")
    accepted = _split_list(accepted_raw, re.compile(r"\|"))
    # A rubric-marked answer is read by a teacher: accepted answers are then only a guide.
    points = _max_points(answer_raw, raw, errors, required=rubric) if rubric else None
    if not accepted and not rubric:
        errors.add("accepted_answers", _("Write at least one accepted answer."))
    if len(accepted) > ACCEPTED_MAX:
        errors.add("accepted_answers", _("Use at most %(count)s accepted answers.") % {"count": 20})
    if any(len(text) > ACCEPTED_MAX_CHARS for text in accepted):
        errors.add(
            "accepted_answers",
            _("An accepted answer is at most %(count)s characters.") % {"count": 200},
        )
    if any(not text_normalise(text, case_sensitive=True).replace("*", "") for text in accepted):
        errors.add("accepted_answers", _("An accepted answer cannot be only wildcards."))
    case_raw = answer_raw.get("case_sensitive")
    if case_raw is None:
        case_raw = raw.get("case_sensitive")
    try:
        case_sensitive = bool(_yes(case_raw))
    except ValueError:
        errors.add("case_sensitive", _("Write yes or no."))
        case_sensitive = False
    answer = {"accepted": accepted, "case_sensitive": case_sensitive}
    if rubric:
        answer["scoring"] = SCORING_RUBRIC
        if points:
            answer["max_points"] = points
    return answer


# --- Responses -----------------------------------------------------------------------------------


def response_from_form(data) -> str:
    """The response string from the take page's form (QueryDict) or an API body (dict), by
    which field the item's kind fills: `choices` (multiple select), `order` (ordering),
    `response` (typed) or `choice`."""
    for name, kind in (("choices", ItemKind.MULTIPLE), ("order", ItemKind.ORDERING)):
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if values:
            return response_from_data(kind, data)
    if data.get("response") not in (None, ""):
        return response_from_data(ItemKind.TEXT, data)
    return response_from_data(ItemKind.SINGLE, data)


def response_from_data(kind: str, data) -> str:
    """The response string from a submitted form (QueryDict) or a JSON body (dict)."""
    if kind in (ItemKind.MULTIPLE, ItemKind.ORDERING):
        name = "choices" if kind == ItemKind.MULTIPLE else "order"
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if values in (None, "", []):
            values = data.get("response") or data.get("choice") or ""
        values = _split_list(values)
        if kind == ItemKind.MULTIPLE:
            values = sorted(set(values))
        return ",".join(values)
    if kind in TYPED:
        value = data.get("response")
        return "" if value is None else str(value).strip()
    value = data.get("choice")
    if value in (None, ""):
        value = data.get("response")
    return "" if value is None else str(value).strip()


def response_clean(version, response: str) -> str:
    """The response as stored, or ValueError with a message for the student."""
    kind = version.kind
    if kind in TYPED:
        if not response.strip():
            _raise(
                _("Type a number first.")
                if kind == ItemKind.NUMERIC
                else _("Type your answer first.")
            )
        if len(response) > TYPED_MAX_CHARS[kind]:
            _raise(
                _("Your answer is too long: use at most %(count)s characters.")
                % {"count": TYPED_MAX_CHARS[kind]}
            )
        if "\x00" in response:
            _raise(_("Your answer contains a character that cannot be saved."))
        # A browser sends a textarea's line breaks as CRLF: kept as plain newlines.
        return response.strip().replace("\r\n", "\n")
    keys = version.option_keys if kind != ItemKind.TRUE_FALSE else list(TRUE_FALSE_KEYS)
    if kind == ItemKind.MULTIPLE:
        chosen = [key for key in response.split(",") if key]
        if not chosen:
            _raise(_("Choose at least one answer."))
        if any(key not in keys for key in chosen):
            _raise(_("Please choose among the answers shown."))
        return ",".join(sorted(set(chosen)))
    if kind == ItemKind.ORDERING:
        order = [key for key in response.split(",") if key]
        if sorted(order) != sorted(keys):
            _raise(_("Put every answer in a place before going on."))
        return ",".join(order)
    if response not in keys:
        _raise(_("Please choose one of the answers."))
    return response


def _raise(message: str):
    raise ValueError(message)


def response_correct(version, response: str) -> bool:
    """Whether a cleaned response is right. Unscored kinds are never right."""
    kind = version.kind
    answer = version.answer or {}
    if kind in (ItemKind.SINGLE, ItemKind.TRUE_FALSE):
        return response == version.correct_key
    if kind == ItemKind.MULTIPLE:
        return sorted(key for key in response.split(",") if key) == sorted(answer.get("keys", []))
    if kind == ItemKind.ORDERING:
        return [key for key in response.split(",") if key] == list(answer.get("order", []))
    if kind == ItemKind.NUMERIC:
        return numeric_correct(answer, response)
    if kind == ItemKind.TEXT:
        return text_correct(answer, response)
    return False


def teacher_marked(kind: str, answer: Mapping | None) -> bool:
    """Whether a teacher gives this item's points (a rubric), so a response waits for them."""
    answer = answer or {}
    if kind == ItemKind.EXTENDED:
        return bool(answer.get("max_points"))
    return kind == ItemKind.TEXT and answer.get("scoring") == SCORING_RUBRIC


def is_scored(kind: str, answer: Mapping | None) -> bool:
    """Whether answers to this item count (an extended item only with rubric points)."""
    return kind not in UNSCORED or teacher_marked(kind, answer)


def max_score(kind: str, answer: Mapping | None) -> int:
    """The largest score of an item: 1 for right/wrong items, more under partial credit (see
    SCORING RULES), 0 for an unscored item."""
    answer = answer or {}
    if not is_scored(kind, answer):
        return 0
    if teacher_marked(kind, answer):
        return int(answer.get("max_points") or 1)
    if kind == ItemKind.MULTIPLE and answer.get("scoring") == SCORING_PARTIAL:
        return max(1, len(answer.get("keys", [])))
    if kind == ItemKind.NUMERIC and answer.get("partial_tolerance") is not None:
        return NUMERIC_PARTIAL_MAX
    return 1


def response_score(version, response: str) -> int | None:
    """Points for a cleaned response, 0..max_score; None while a teacher has to mark it (and
    for an unscored item). Full credit is the same as `response_correct`."""
    kind = version.kind
    answer = version.answer or {}
    if not is_scored(kind, answer) or teacher_marked(kind, answer):
        return None
    if kind == ItemKind.MULTIPLE and answer.get("scoring") == SCORING_PARTIAL:
        keys = set(answer.get("keys", []))
        chosen = {key for key in response.split(",") if key}
        return max(0, len(chosen & keys) - len(chosen - keys))
    if kind == ItemKind.NUMERIC and answer.get("partial_tolerance") is not None:
        if numeric_correct(answer, response):
            return NUMERIC_PARTIAL_MAX
        distance = numeric_distance(answer, response)
        partial = float(answer["partial_tolerance"])
        slack = 1e-9 * max(1.0, abs(float(answer.get("value") or 0.0)))
        return 1 if distance is not None and distance <= partial + slack else 0
    return int(response_correct(version, response))


def score_display(score: int | None, maximum: int) -> str:
    """Points as shown in results: "2/3"; "" when there are none to show."""
    if score is None or maximum <= 0:
        return ""
    return f"{score}/{maximum}"


def parse_number(text: str) -> float | None:
    """A number as typed: "3.5", "3,5" (a decimal comma), "−2", "1e3"; None if it is not one.
    A comma followed by exactly three digits and a dot elsewhere ("1,000.5") is a thousands
    separator."""
    value = text.strip().replace("−", "-").replace(" ", "").replace("\u00a0", "")
    if "," in value and "." in value:
        value = value.replace(",", "")
    elif value.count(",") == 1:
        value = value.replace(",", ".")
    try:
        number = float(Decimal(value))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) else None


def numeric_split(response: str) -> tuple[float | None, str]:
    """(number, unit) of a typed numeric answer: "3.5 cm" -> (3.5, "cm")."""
    match = _NUMBER.match(response)
    if not match:
        return None, ""
    return parse_number(match.group(1)), match.group(2).strip()


def numeric_distance(answer: Mapping, response: str) -> float | None:
    """How far a typed number is from the answer (None if it is not a number, or its unit is
    wrong or missing when one is required)."""
    number, unit = numeric_split(response)
    if number is None:
        return None
    units = [text_normalise(name, case_sensitive=True) for name in answer.get("units", [])]
    if unit:
        if text_normalise(unit, case_sensitive=True) not in units:
            return None
    elif answer.get("unit_required"):
        return None
    value = answer.get("value")
    if value is None:
        return None
    return abs(number - float(value))


def numeric_correct(answer: Mapping, response: str) -> bool:
    distance = numeric_distance(answer, response)
    if distance is None:
        return False
    tolerance = float(answer.get("tolerance") or 0.0)
    # A little slack for binary fractions: 0.1 + 0.2 typed as 0.3 is right.
    return distance <= tolerance + 1e-9 * max(1.0, abs(float(answer.get("value") or 0.0)))


def text_normalise(text: str, *, case_sensitive: bool) -> str:
    """Compatibility forms folded (full-width letters, ligatures), accents dropped, runs of
    spaces made one, ends trimmed, and case folded unless it matters."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text).strip()
    return text if case_sensitive else text.casefold()


@lru_cache(maxsize=4096)
def _pattern(accepted: str, case_sensitive: bool) -> re.Pattern:
    parts = [re.escape(part) for part in accepted.split("*")]
    return re.compile("^" + ".*".join(parts) + "$", re.DOTALL)


def text_correct(answer: Mapping, response: str) -> bool:
    case_sensitive = bool(answer.get("case_sensitive"))
    typed = text_normalise(response, case_sensitive=case_sensitive)
    if not typed:
        return False
    for accepted in answer.get("accepted", []):
        wanted = text_normalise(accepted, case_sensitive=case_sensitive)
        if "*" in wanted:
            if _pattern(wanted, case_sensitive).match(typed):
                return True
        elif typed == wanted:
            return True
    return False


# --- Display -------------------------------------------------------------------------------------


def answer_display(version) -> str:
    """The right answer in words, for a teacher (item page, results, reports)."""
    kind = version.kind
    answer = version.answer or {}
    if kind == ItemKind.SINGLE:
        return version.correct_key
    if kind == ItemKind.TRUE_FALSE:
        return true_false_label(version.correct_key)
    if kind == ItemKind.MULTIPLE:
        return ", ".join(answer.get("keys", []))
    if kind == ItemKind.ORDERING:
        return " → ".join(answer.get("order", []))
    if kind == ItemKind.NUMERIC:
        value = _number_text(answer.get("value"))
        tolerance = float(answer.get("tolerance") or 0.0)
        text = f"{value} ± {_number_text(tolerance)}" if tolerance else value
        units = answer.get("units") or []
        if units:
            text += " " + " / ".join(units)
            if not answer.get("unit_required"):
                text += " " + _("(unit optional)")
        return text
    if kind == ItemKind.TEXT:
        text = " / ".join(answer.get("accepted", []))
        if answer.get("case_sensitive"):
            text += " " + _("(case matters)")
        if teacher_marked(kind, answer):
            marked = _("(marked by the teacher, 0 to %(max)s points)") % {
                "max": answer.get("max_points") or 1
            }
            text = f"{text} {marked}" if text else marked
        return text
    if teacher_marked(kind, answer):
        return _("Marked by the teacher, 0 to %(max)s points.") % {"max": answer["max_points"]}
    return _("Not scored: read by the teacher.")


def response_display(version, response: str) -> str:
    """A student's response in words (a true/false key as True or False, ordering with
    arrows, typed text as typed)."""
    if version.kind == ItemKind.TRUE_FALSE:
        return true_false_label(response) if response in TRUE_FALSE_KEYS else response
    if version.kind == ItemKind.ORDERING:
        return " → ".join(key for key in response.split(",") if key)
    if version.kind == ItemKind.MULTIPLE:
        return ", ".join(key for key in response.split(",") if key)
    return response


def _number_text(value) -> str:
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
