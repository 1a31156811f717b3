"""Read GIFT question files (https://docs.moodle.org/en/GIFT_format) into raw items, the way
Moodle's own GIFT importer reads them.

Questions are separated by blank lines. `::Title::` names a question, `//` starts a comment line
(Moodle's `// [id:X] [tag:Y]` comments give the id and tags), `$CATEGORY: path` sets the content
area of the questions after it, and `\\` escapes `~ = # { } :`. The answer block decides the type:

    {=right ~wrong ~wrong}          one right answer            -> single
    {~%50%a ~%50%b ~%-100%c}        weighted, no "="            -> multiple (weights > 0 right)
    {TRUE} {T} {FALSE} {F}          true/false                  -> truefalse
    {#3.5:0.1} {#1..2} {#42}        numerical                   -> numeric
    {=Paris =paris}                 short answer                -> text
    {}                              essay                       -> extended

Feedback (`#...`, `####...`) is read past and not kept. Matching (`=a -> b`) and text without
an answer block (a "description") cannot be imported: each is a problem with its line.
"""

import re

from django.utils.translation import gettext as _

from dreamseed.itembank.formats.moodle import (
    HTML,
    MARKDOWN,
    MOODLE_AUTO,
    PLAIN,
    ForeignFile,
    ForeignFileError,
    ForeignQuestion,
    NameIds,
    category_content_area,
    images_rewrite,
    option_html,
    raw_item,
    text_html,
)

OPTION_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FORMATS = {"moodle": MOODLE_AUTO, "html": HTML, "plain": PLAIN, "markdown": MARKDOWN}
# Escaped characters become private-use placeholders while the structure is parsed.
_ESCAPES = {
    ":": "\ue000",
    "#": "\ue001",
    "=": "\ue002",
    "{": "\ue003",
    "}": "\ue004",
    "~": "\ue005",
}
_NEWLINE = "\ue006"
_BACKSLASH = "\ue007"
_UNESCAPE = str.maketrans({**{v: k for k, v in _ESCAPES.items()}, _NEWLINE: "\n"})
_WEIGHT = re.compile(r"^%(-*[0-9]{1,2}\.?[0-9]*)%")
_ID = re.compile(r"\[id:((?:\\]|[^\]\x00-\x1f])+)\]")
_TAG = re.compile(r"\[tag:((?:\\]|[^\]<>`\x00-\x1f])+)\]")
_TRUE_FALSE = {"T": "T", "TRUE": "T", "F": "F", "FALSE": "F"}


def _escape(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for char, placeholder in _ESCAPES.items():
        text = text.replace("\\" + char, placeholder)
    return text.replace("\\n", _NEWLINE).replace(_BACKSLASH, "\\")


def _unescape(text: str) -> str:
    return text.translate(_UNESCAPE)


def _with_format(text: str, default: str) -> tuple[str, str]:
    """Moodle's `[html]`, `[markdown]`, `[plain]` or `[moodle]` prefix, else `default`."""
    if text.startswith("["):
        end = text.find("]")
        name = text[1:end] if end > 0 else ""
        if name in _FORMATS:
            return _unescape(text[end + 1 :]).strip(), _FORMATS[name]
    return _unescape(text).strip(), default


def _weight(answer: str) -> tuple[float | None, str]:
    """A `%50%` weight at the start of an answer (as a fraction) and the rest of the answer."""
    match = _WEIGHT.match(answer)
    if not match:
        return None, answer
    digits = match.group(1).lstrip("-")
    negative = match.group(1).startswith("-")
    try:
        value = float(digits) / 100
    except ValueError:
        return None, answer
    return (-value if negative else value), answer[match.end() :]


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


class _Reader:
    def __init__(self):
        self.found = ForeignFile()
        self.content_area: str | None = None  # until a category says
        self.number = 0
        self.ids = NameIds()
        self.pending: list[tuple[ForeignQuestion, str]] = []

    def problem(self, line, message, column=None) -> None:
        self.found.add(line, self.number or None, message, column)

    def block(self, lines: list[tuple[int, str]]) -> None:
        comments = [text for _line, text in lines if text.startswith("//")]
        body = [(number, text) for number, text in lines if not text.startswith("//")]
        if not body:
            return
        line = body[0][0]
        text = _escape("\n".join(text for _number, text in body).strip())

        if text.startswith("$CATEGORY:"):
            first, _newline, rest = text.partition("\n")
            self.content_area = category_content_area(_unescape(first[len("$CATEGORY:") :]))
            if rest.strip():
                self.problem(
                    line, _("Put a blank line between a $CATEGORY line and the question after it.")
                )
            return

        self.number += 1
        name = ""
        if text.startswith("::"):
            end = text.find("::", 2)
            if end >= 0:
                name = _unescape(text[2:end]).strip()
                text = text[end + 2 :].strip()

        start, finish = text.find("{"), text.find("}")
        if start < 0 and finish < 0:
            self.problem(
                line,
                _(
                    "This text has no answer block in braces { }: Moodle calls it a "
                    "description, and DreamSeed items need an answer. Add one, or remove it."
                ),
            )
            return
        if start < 0 or finish < 0 or finish < start:
            self.problem(
                line,
                _("The braces do not match: each question has one { and one } around its answers."),
            )
            return
        if "{" in text[finish + 1 :] or "{" in text[start + 1 : finish]:
            self.problem(
                line,
                _(
                    "A question has one answer block; escape a literal brace as \\{ or \\} "
                    "(embedded answers in one question cannot be imported)."
                ),
            )
            return
        answer_text = text[start + 1 : finish].strip()
        if text.endswith("}"):
            question_text = text[:start] + text[finish + 1 :]
        else:  # a missing word inside the sentence
            question_text = text[:start] + "_____" + text[finish + 1 :]
        if "####" in answer_text:  # general feedback, not kept
            answer_text = answer_text[: answer_text.rfind("####")].strip()

        stem_text, text_format = _with_format(question_text.strip(), MOODLE_AUTO)
        fields = self.answers(answer_text, text_format, line)
        if fields is None:
            return
        idnumber, tags = self.comment_fields(comments)
        stem = images_rewrite(
            text_html(stem_text, text_format), {}, self.found, line, self.number, "stem"
        )
        raw = raw_item(
            external_id=idnumber,
            content_area=self.content_area,
            stem=stem,
            tags=tags,
            **fields,
        )
        question = ForeignQuestion(line, self.number, raw)
        self.found.questions.append(question)
        if idnumber:
            self.ids.reserve(idnumber)
        else:
            self.pending.append((question, name))

    @staticmethod
    def comment_fields(comments: list[str]) -> tuple[str, list[str]]:
        text = "\n".join(comments)
        match = _ID.search(text)
        idnumber = match.group(1).replace("\\]", "]").strip() if match else ""
        tags = [tag.replace("\\]", "]").strip() for tag in _TAG.findall(text)]
        return idnumber, tags

    def answers(self, answer_text: str, text_format: str, line) -> dict | None:
        if answer_text == "":
            return {"kind": "extended"}
        if answer_text.startswith("#"):
            return self.numerical(answer_text[1:], line)
        if "~" in answer_text:
            return self.multichoice(answer_text, text_format, line)
        if "=" in answer_text and "->" in answer_text:
            self.problem(
                line,
                _(
                    "Matching questions (=a -> b) cannot be imported: DreamSeed scores each "
                    "item right or wrong. Remove it or split it into one question per pair."
                ),
            )
            return None
        check = answer_text.split("#", 1)[0].strip() if "#" in answer_text[1:] else answer_text
        if check in _TRUE_FALSE:
            return {"kind": "truefalse", "correct_key": _TRUE_FALSE[check]}
        return self.shortanswer(answer_text, line)

    def multichoice(self, answer_text: str, text_format: str, line) -> dict | None:
        single = "=" in answer_text
        parts = answer_text.replace("=", "~=").split("~")
        parts = [part.strip() for part in parts]
        if parts and not parts[0]:
            parts.pop(0)
        if len(parts) < 2:
            self.problem(line, _("A multiple choice question needs at least two answers."))
            return None
        options, weights = [], []
        for index, part in enumerate(parts):
            if part.startswith("="):
                weight, part = 1.0, part[1:]
            else:
                weight, part = _weight(part)
                weight = weight or 0.0
            answer, option_format = _with_format(part.split("#", 1)[0].strip(), text_format)
            key = OPTION_KEYS[index] if index < len(OPTION_KEYS) else str(index + 1)
            text = images_rewrite(
                text_html(answer, option_format), {}, self.found, line, self.number, "options"
            )
            options.append({"key": key, "text": option_html(text)})
            weights.append(weight)
        if single:
            right = [o["key"] for o, w in zip(options, weights, strict=True) if w >= 1]
            if len(right) != 1:
                self.problem(
                    line,
                    _(
                        "A multiple choice question with = needs exactly one right answer "
                        "(this has %(count)s). For several right answers give each a weight: "
                        "~%%50%%first ~%%50%%second."
                    )
                    % {"count": len(right)},
                    "options",
                )
                return None
            return {"kind": "single", "options": options, "correct_key": right[0]}
        right = [o["key"] for o, w in zip(options, weights, strict=True) if w > 0]
        if not right:
            self.problem(
                line,
                _(
                    "No answer is marked right: mark it with = (one right answer) or give the "
                    "right answers positive weights like ~%%50%%."
                ),
                "options",
            )
            return None
        return {"kind": "multiple", "options": options, "answer": {"keys": right}}

    def numerical(self, answer_text: str, line) -> dict | None:
        if "~" in answer_text:  # feedback for any wrong answer
            answer_text = answer_text[: answer_text.find("~")]
        parts = [part.strip() for part in answer_text.split("=")]
        if parts and not parts[0]:
            parts.pop(0)
        right = []
        for part in parts:
            weight, part = _weight(part)
            if weight is None or weight >= 1:
                right.append(_unescape(part.split("#", 1)[0]).strip())
        if len(right) != 1:
            self.problem(
                line,
                _(
                    "A numerical question needs exactly one fully right answer, like {#3.5:0.1} "
                    "or {#1..2} (this has %(count)s)."
                )
                % {"count": len(right)},
                "answer",
            )
            return None
        answer = right[0]
        if answer.find("..") > 0:
            low, high = (_number(value) for value in answer.split("..", 1))
            if low is None or high is None or high < low:
                value = tolerance = None
            else:
                value = (low + high) / 2
                tolerance = high - value
        elif answer.find(":") > 0:
            value_text, tolerance_text = answer.split(":", 1)
            value, tolerance = _number(value_text), _number(tolerance_text)
        else:
            value, tolerance = _number(answer), 0.0
        if value is None or tolerance is None or tolerance < 0:
            self.problem(
                line,
                _(
                    "“%(answer)s” is not a numerical answer: write a number, number:tolerance "
                    "(3.5:0.1) or a range low..high (1..2)."
                )
                % {"answer": answer[:40]},
                "answer",
            )
            return None
        return {
            "kind": "numeric",
            "answer": {"value": value, "tolerance": tolerance, "units": [], "unit_required": False},
        }

    def shortanswer(self, answer_text: str, line) -> dict | None:
        parts = [part.strip() for part in answer_text.split("=")]
        if parts and not parts[0]:
            parts.pop(0)
        accepted = []
        for part in parts:
            weight, part = _weight(part)
            text, _format = _with_format(part.split("#", 1)[0].strip(), PLAIN)
            if (weight is None or weight >= 1) and text and text not in accepted:
                accepted.append(text)
        if not accepted:
            self.problem(
                line,
                _("A short-answer question needs at least one fully right answer, like {=Paris}."),
                "answer",
            )
            return None
        return {"kind": "text", "answer": {"accepted": accepted, "case_sensitive": False}}

    def finish(self) -> ForeignFile:
        for question, name in self.pending:
            question.raw["external_id"] = self.ids.from_name(name)
        return self.found


def read(text: str) -> ForeignFile:
    """Read a GIFT file; raises ForeignFileError if it has no questions at all."""
    reader = _Reader()
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line:
            block.append((number, line))
        elif block:
            reader.block(block)
            block = []
    if block:
        reader.block(block)
    found = reader.finish()
    if not found.questions and not found.problems:
        raise ForeignFileError(_("The file has no GIFT questions."))
    return found


_FORMAT_PREFIX = re.compile(r"^\[(?:html|markdown|plain|moodle)\]")


def starts_with_format(text: str) -> bool:
    """GIFT text that opens with a `[html]`-style format (which would pass for a JSON list)."""
    return bool(_FORMAT_PREFIX.match(text.lstrip("\ufeff \t\r\n")))


_ANSWER_BLOCK = re.compile(r"(?<!\\)\{[^{}]*(?<!\\)\}")


def looks_like_gift(text: str) -> bool:
    """A sniff for a .txt upload: GIFT, not a CSV item file."""
    lines = [line.strip() for line in text[:20_000].splitlines()]
    meaningful = [line for line in lines if line and not line.startswith("//")]
    if not meaningful:
        return False
    first = meaningful[0].lower()
    if "," in first and ("stem" in first or "external_id" in first):
        return False  # our CSV header
    if any(line.startswith(("::", "$CATEGORY:")) for line in meaningful):
        return True
    return bool(_ANSWER_BLOCK.search("\n".join(meaningful)))
