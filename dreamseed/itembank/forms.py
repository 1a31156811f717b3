import re

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from dreamseed.itembank.calibration_runs import (
    DEFAULT_MAX_SE_A,
    DEFAULT_MAX_SE_B,
    DEFAULT_MIN_RESPONSES_BY_MODEL,
    LOOSEST_MAX_SE_A,
    LOOSEST_MAX_SE_B,
    MIN_RESPONSES_FLOOR_BY_MODEL,
    min_responses_error,
)
from dreamseed.itembank.import_export import IMPORT_MAX_BYTES, import_upload_check
from dreamseed.itembank.kinds import (
    SCORING_PARTIAL,
    SCORING_RUBRIC,
    TRUE_FALSE_KEYS,
    WITH_OPTIONS,
    ItemKind,
    definition_clean,
    true_false_label,
)
from dreamseed.itembank.models import (
    CALIBRATION_MODELS,
    IrtModel,
    Item,
    ItemStatus,
    ItemVersion,
)
from dreamseed.itembank.sanitize import option_clean, option_source, stem_clean, stem_source
from dreamseed.itembank.selectors import ITEM_SORTS, ItemFilters
from dreamseed.itembank.validation import (
    OPTION_FIELDS,
    OPTION_KEYS,
    OPTION_MAX_CHARS,
    STEM_MAX_CHARS,
    item_values_clean,
)

# The editor's own names for how single, multiple and true/false items are marked: a radio
# group, checkboxes and a true/false pair cannot share one name (option F and False would
# collide). item_values_clean reports all three as `correct_key`; the form puts the message
# on the field the author used.
_KEY_FIELD_BY_KIND = {
    ItemKind.SINGLE: "correct_key",
    ItemKind.MULTIPLE: "correct_keys",
    ItemKind.TRUE_FALSE: "truefalse_key",
    ItemKind.ORDERING: "option_a",
}
_UNIT_SEPARATORS = re.compile(r"[;,|\n]")
_METADATA_FIELDS = (
    "external_id", "status", "subject", "grade", "content_area", "standards", "model",
    "a", "b", "c", "d", "steps",
)  # fmt: skip


class _Problems(dict):
    """The error collector kinds.definition_clean writes to (for the live preview)."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(str(message))


def _number_text(value) -> str:
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _number_input(**attrs):
    return forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", **attrs})


class _KeysField(forms.MultipleChoiceField):
    """Checkboxes whose empty values (from a form copied field by field) mean nothing."""

    def to_python(self, value):
        return [key for key in super().to_python(value) if key]


class ItemForm(forms.Form):
    """The editor. Every rule lives in `validation.item_values_clean`; this form only maps its
    messages onto fields, so the editor, imports and the API agree."""

    external_id = forms.CharField(
        label=_("External id"),
        required=False,
        help_text=_(
            "Optional stable id for import and export, e.g. ALG-0042. Generated when empty."
        ),
    )
    stem = forms.CharField(
        label=_("Question"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "data-preview-source": ""}),
        help_text=_(
            "Plain text; a blank line starts a new paragraph. Math in LaTeX between dollar "
            "signs, e.g. $\\frac{3}{4}$ or $x^2 + 1$. You may use <strong>, <em>, <sub>, "
            "<sup>, lists and images from this site."
        ),
    )
    kind = forms.ChoiceField(
        label=_("Item type"),
        required=False,  # an editor page from before the types existed posts none: single
        choices=ItemKind.choices,
        initial=ItemKind.SINGLE,
        widget=forms.Select(attrs={"data-kind-select": "", "data-preview-source": ""}),
        help_text=_(
            "The kind of question: the page shows the fields it needs. Every type but "
            "extended text is marked right or wrong."
        ),
    )
    correct_key = forms.ChoiceField(
        label=_("Correct option"),
        required=False,
        choices=[(key, key) for key in OPTION_KEYS],
        widget=forms.RadioSelect,
    )
    correct_keys = _KeysField(
        label=_("Correct options"),
        required=False,
        choices=[(key, key) for key in OPTION_KEYS],
        widget=forms.CheckboxSelectMultiple,
    )
    truefalse_key = forms.ChoiceField(
        label=_("The statement is"),
        required=False,
        choices=[(key, true_false_label(key, lazy=True)) for key in TRUE_FALSE_KEYS],
        widget=forms.RadioSelect(attrs={"data-preview-source": ""}),
    )
    answer_value = forms.CharField(
        label=_("Correct number"),
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-preview-source": ""}
        ),
        help_text=_("A decimal comma or point both work, e.g. 3.5 or 3,5."),
    )
    answer_tolerance = forms.CharField(
        label=_("Tolerance (±)"),
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-preview-source": ""}
        ),
        help_text=_("How far from the number an answer may be and still be right. Empty: exact."),
    )
    answer_units = forms.CharField(
        label=_("Accepted units"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-preview-source": ""}),
        help_text=_("Separate them with semicolons, e.g. cm; centimetres. Students see them."),
    )
    answer_unit_required = forms.BooleanField(
        label=_("The answer must include a unit"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-preview-source": ""}),
    )
    partial_tolerance = forms.CharField(
        label=_("Half credit within (±)"),
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-preview-source": ""}
        ),
        help_text=_(
            "Optional partial credit: 2 points within the tolerance, 1 point within this wider "
            "distance. Needs a GPCM or GRM model with 2 steps."
        ),
    )
    accepted_answers = forms.CharField(
        label=_("Accepted answers"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "data-preview-source": ""}),
        help_text=_(
            "One per line. Spaces, accents and (unless you tick below) capitals do not count; "
            "* stands for any letters, e.g. photosynth*."
        ),
    )
    scoring = forms.BooleanField(
        label=_("Partial credit: a point for each right option chosen, minus one for each wrong"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-preview-source": ""}),
        help_text=_("Needs a GPCM or GRM model with as many steps as correct options."),
    )
    max_points = forms.CharField(
        label=_("Points a teacher gives (rubric)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "data-preview-source": ""}
        ),
        help_text=_(
            "Optional, 1 to 10: a teacher marks each answer with 0 to this many points. Short "
            "text: the accepted answers are then only a guide. More than 1 point needs a GPCM "
            "or GRM model with as many steps."
        ),
    )
    case_sensitive = forms.BooleanField(
        label=_("Capital letters must match"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-preview-source": ""}),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ItemStatus.choices, initial=ItemStatus.DRAFT
    )
    subject = forms.CharField(
        label=_("Subject"),
        required=False,
        widget=forms.TextInput(attrs={"list": "subject-choices"}),
    )
    grade = forms.CharField(
        label=_("Grade"), required=False, widget=forms.TextInput(attrs={"list": "grade-choices"})
    )
    content_area = forms.CharField(
        label=_("Content area"),
        required=False,
        widget=forms.TextInput(attrs={"list": "tag-choices"}),
        help_text=_("For example Fractions or Algebra."),
    )
    standards = forms.CharField(
        label=_("Standards and tags"),
        required=False,
        help_text=_("Separate them with commas, e.g. 5.NF.A.1, fractions."),
    )
    model = forms.ChoiceField(
        label=_("IRT model"), choices=IrtModel.choices, initial=IrtModel.THREE_PL
    )
    a = forms.CharField(
        label=_("Discrimination a"), required=False, initial="1.0", widget=_number_input()
    )
    b = forms.CharField(
        label=_("Difficulty b"),
        required=False,
        widget=_number_input(),
        help_text=_("Leave empty for a pilot item: it is calibrated from students' answers."),
    )
    c = forms.CharField(
        label=_("Guessing c"), required=False, initial="0.0", widget=_number_input()
    )
    d = forms.CharField(
        label=_("Upper asymptote d"), required=False, initial="1.0", widget=_number_input()
    )
    steps = forms.CharField(
        label=_("Category steps"),
        required=False,
        max_length=300,
        help_text=_(
            "GPCM and GRM items only: one step per point, separated by semicolons, e.g. "
            "-1.2; 0.3; 1.1."
        ),
    )

    def __init__(self, *args, item: Item | None = None, **kwargs):
        self.item = item
        if item is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(item)
        super().__init__(*args, **kwargs)
        for index, (name, key) in enumerate(zip(OPTION_FIELDS, OPTION_KEYS, strict=True)):
            self.fields[name] = forms.CharField(
                label=_("Option %(key)s") % {"key": key},
                required=False,
                widget=forms.Textarea(attrs={"rows": 1, "data-preview-source": ""}),
            )
            if index < 2:
                self.fields[name].widget.attrs["aria-describedby"] = "options-help"
        for name in ("correct_key", "correct_keys"):
            self.fields[name].widget.attrs["data-preview-source"] = ""
        if item is not None:
            self.fields["external_id"].disabled = True
            self.fields["external_id"].help_text = _("The stable id used by import and export.")
        self.values = None
        self.raw: dict = {}

    @staticmethod
    def initial_for(item: Item) -> dict:
        version = item.current_version
        initial = {
            "external_id": item.external_id,
            "status": item.status,
            "subject": item.subject,
            "grade": item.grade,
            "content_area": item.content_area,
            "standards": ", ".join(item.standards),
            "model": item.model,
            "a": repr(item.a),
            "b": "" if item.b is None else repr(item.b),
            "c": repr(item.c),
            "d": repr(item.d),
            "steps": "; ".join(_number_text(step) for step in item.steps),
        }
        if version is not None:
            initial.update(ItemForm._initial_content(version))
        return initial

    @staticmethod
    def _initial_content(version: ItemVersion) -> dict:
        answer = version.answer or {}
        initial = {"stem": stem_source(version.stem), "kind": version.kind}
        options = list(version.options)
        if version.kind == ItemKind.ORDERING:
            # The editor writes ordering options in the right order (students see them
            # shuffled); an imported item may list them otherwise.
            by_key = {option["key"]: option for option in options}
            order = [key for key in answer.get("order", []) if key in by_key]
            if sorted(order) == sorted(by_key):
                options = [by_key[key] for key in order]
        for option, name in zip(options, OPTION_FIELDS, strict=False):
            initial[name] = option_source(option["text"])
        if version.kind == ItemKind.SINGLE:
            initial["correct_key"] = version.correct_key
        elif version.kind == ItemKind.TRUE_FALSE:
            initial["truefalse_key"] = version.correct_key
        elif version.kind == ItemKind.MULTIPLE:
            initial["correct_keys"] = list(answer.get("keys", []))
            initial["scoring"] = answer.get("scoring") == SCORING_PARTIAL
        elif version.kind == ItemKind.NUMERIC:
            initial["answer_value"] = _number_text(answer.get("value"))
            tolerance = answer.get("tolerance") or 0
            initial["answer_tolerance"] = _number_text(tolerance) if tolerance else ""
            initial["answer_units"] = "; ".join(answer.get("units", []))
            initial["answer_unit_required"] = bool(answer.get("unit_required"))
            partial = answer.get("partial_tolerance")
            initial["partial_tolerance"] = "" if partial is None else _number_text(partial)
        elif version.kind == ItemKind.TEXT:
            initial["accepted_answers"] = "\n".join(answer.get("accepted", []))
            initial["case_sensitive"] = bool(answer.get("case_sensitive"))
        if answer.get("max_points"):
            initial["max_points"] = str(answer["max_points"])
        return initial

    def option_rows(self):
        """One row per option slot for the template: its text field, the radio button that
        marks it correct (single choice) and its checkbox (multiple select)."""
        radios = {choice.data["value"]: choice for choice in self["correct_key"]}
        boxes = {choice.data["value"]: choice for choice in self["correct_keys"]}
        return [
            {"key": key, "field": self[name], "radio": radios[key], "checkbox": boxes[key]}
            for name, key in zip(OPTION_FIELDS, OPTION_KEYS, strict=True)
        ]

    @property
    def kind_value(self) -> str:
        """The type being written (as posted, or the item's), to show only its errors."""
        value = self["kind"].value()
        return value if value in ItemKind.values else ItemKind.SINGLE

    def _raw(self, data: dict) -> dict:
        """The raw item for item_values_clean: the common fields plus only what the chosen
        type uses, so text left in another type's fields (hidden by the page) is ignored."""
        kind = data.get("kind") or ItemKind.SINGLE
        raw = {name: data.get(name) for name in (*_METADATA_FIELDS, "stem")}
        raw["kind"] = kind
        if self.item is not None:
            raw["external_id"] = self.item.external_id
        if kind in WITH_OPTIONS:
            raw.update({name: data.get(name) or "" for name in OPTION_FIELDS})
        if kind == ItemKind.SINGLE:
            raw["correct_key"] = data.get("correct_key") or ""
        elif kind == ItemKind.TRUE_FALSE:
            raw["correct_key"] = data.get("truefalse_key") or ""
        elif kind == ItemKind.MULTIPLE:
            raw["correct_key"] = ";".join(data.get("correct_keys") or [])
            raw["scoring"] = SCORING_PARTIAL if data.get("scoring") else ""
        elif kind == ItemKind.NUMERIC:
            raw["answer_value"] = data.get("answer_value") or ""
            raw["answer_tolerance"] = data.get("answer_tolerance") or ""
            raw["answer_units"] = [
                unit.strip()
                for unit in _UNIT_SEPARATORS.split(data.get("answer_units") or "")
                if unit.strip()
            ]
            raw["answer_unit_required"] = bool(data.get("answer_unit_required"))
            raw["partial_tolerance"] = data.get("partial_tolerance") or ""
        elif kind == ItemKind.TEXT:
            lines = (data.get("accepted_answers") or "").splitlines()
            raw["answer"] = {
                "accepted": [line.strip() for line in lines if line.strip()],
                "case_sensitive": bool(data.get("case_sensitive")),
            }
        if kind in (ItemKind.TEXT, ItemKind.EXTENDED) and (data.get("max_points") or "").strip():
            raw["scoring"] = SCORING_RUBRIC
            raw["max_points"] = data["max_points"].strip()
        return raw

    def _keep_ordering_content(self, raw: dict) -> None:
        """An ordering item whose options were stored in another order than the right one
        (an import) comes back from the editor relabelled in the right order: if the sequence
        is the same, keep the stored options so an unchanged item stays unchanged."""
        version = self.item.current_version if self.item is not None else None
        if raw["kind"] != ItemKind.ORDERING or version is None or version.kind != raw["kind"]:
            return
        order = (version.answer or {}).get("order", [])
        texts = {option["key"]: option["text"] for option in version.options}
        if sorted(order) != sorted(texts):
            return
        written = [option_clean(raw.get(name) or "") for name in OPTION_FIELDS]
        written = [text for text in written if text]
        if written == [texts[key] for key in order]:
            for name in OPTION_FIELDS:
                raw.pop(name, None)
            raw["options"] = list(version.options)
            raw["answer"] = {"order": list(order)}

    def clean(self):
        raw = self._raw(dict(self.cleaned_data))
        self._keep_ordering_content(raw)
        self.raw = raw
        values, errors = item_values_clean(raw)
        for name, messages in errors.items():
            if name == "correct_key":
                field = _KEY_FIELD_BY_KIND.get(raw["kind"], "correct_key")
            elif name == "scoring" and raw["kind"] != ItemKind.MULTIPLE:
                field = "max_points"
            else:
                field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)
        self.values = values
        return self.cleaned_data

    def preview_version(self) -> ItemVersion:
        """An unsaved version of what is being written, sanitised as it would be saved, for
        the live preview; shown even while other fields are still wrong. Its `answer_ready`
        says whether the way it is marked is complete."""
        self.is_valid()
        raw = self.raw or self._raw({"kind": ItemKind.SINGLE})
        kind = raw["kind"]
        if "options" in raw:
            options = list(raw["options"])
        else:
            options = []
            for name, key in zip(OPTION_FIELDS, OPTION_KEYS, strict=True):
                text = option_clean(str(raw.get(name) or "")[:OPTION_MAX_CHARS])
                if text:
                    options.append({"key": key, "text": text})
        problems = _Problems()
        correct_key, answer = definition_clean(
            kind, raw, [option["key"] for option in options], problems
        )
        version = ItemVersion(
            stem=stem_clean(str(self.data.get("stem") or "")[:STEM_MAX_CHARS]),
            options=options,
            kind=kind,
            correct_key=correct_key,
            answer=answer,
        )
        version.answer_ready = not problems and (kind not in WITH_OPTIONS or len(options) >= 2)
        return version


class ItemFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    subject = forms.ChoiceField(label=_("Subject"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    tag = forms.CharField(label=_("Content area or tag"), required=False, max_length=80)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ItemStatus.choices]
    )
    kind = forms.ChoiceField(
        label=_("Item type"), required=False, choices=[("", _("Any")), *ItemKind.choices]
    )
    b_min = forms.FloatField(label=_("b from"), required=False, widget=_number_input())
    b_max = forms.FloatField(label=_("b to"), required=False, widget=_number_input())
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("id", _("Id")),
            ("b", _("Difficulty, easiest first")),
            ("-b", _("Difficulty, hardest first")),
            ("p", _("p-value")),
            ("n", _("Most answered")),
            ("updated", _("Recently changed")),
        ],
    )

    def __init__(self, *args, choices: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = choices or {}
        self.fields["subject"].choices = [("", _("Any"))] + [
            (value, value) for value in choices.get("subjects", [])
        ]
        self.fields["grade"].choices = [("", _("Any"))] + [
            (value, value) for value in choices.get("grades", [])
        ]
        self.tag_choices = choices.get("tags", [])

    def filters(self) -> ItemFilters:
        """The valid part of the query: a bad value is ignored, not a 500 or an empty list."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        sort = data.get("sort") or "id"
        b_min, b_max = data.get("b_min"), data.get("b_max")
        if b_min is not None and b_max is not None and b_min > b_max:
            b_min, b_max = b_max, b_min
        return ItemFilters(
            q=(data.get("q") or "").strip(),
            subject=data.get("subject") or "",
            grade=data.get("grade") or "",
            tag=(data.get("tag") or "").strip(),
            status=data.get("status") or "",
            kind=data.get("kind") or "",
            b_min=b_min,
            b_max=b_max,
            sort=sort if sort in ITEM_SORTS else "id",
        )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Item file"),
        help_text=_(
            "CSV, JSON, Moodle XML (.xml), GIFT (.gift or .txt) or a QTI package (.zip); at most "
            "%(size)s MB, text files in UTF-8."
        )
        % {"size": IMPORT_MAX_BYTES // 1_000_000},
        widget=forms.FileInput(
            attrs={
                "accept": ".csv,.json,.txt,.xml,.gift,.zip,text/csv,application/json,text/plain,"
                "application/xml,text/xml,application/zip"
            }
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        import_upload_check(upload)
        return upload


class CalibrationForm(forms.Form):
    model = forms.ChoiceField(
        label=_("IRT model"), choices=CALIBRATION_MODELS, initial=IrtModel.THREE_PL
    )
    min_responses = forms.IntegerField(
        label=_("Minimum responses per item"),
        required=False,
        # The floor depends on the model: clean() says which, and why.
        min_value=1,
        max_value=1_000_000,
        help_text=format_lazy(
            _(
                "Leave empty for the recommended minimum: {one} for 1PL, {two} for 2PL, {three} "
                "for 3PL. Why: about 100 answers pin a difficulty to within a quarter logit; a "
                "slope (2PL) needs a few hundred; the guessing parameter (3PL) needs many answers "
                "from weaker students. Lower values are refused below {one_floor} / {two_floor} / "
                "{three_floor}. Items with fewer responses are listed but not estimated."
            ),
            one=DEFAULT_MIN_RESPONSES_BY_MODEL["1PL"],
            two=DEFAULT_MIN_RESPONSES_BY_MODEL["2PL"],
            three=DEFAULT_MIN_RESPONSES_BY_MODEL["3PL"],
            one_floor=MIN_RESPONSES_FLOOR_BY_MODEL["1PL"],
            two_floor=MIN_RESPONSES_FLOOR_BY_MODEL["2PL"],
            three_floor=MIN_RESPONSES_FLOOR_BY_MODEL["3PL"],
        ),
    )
    max_se_b = forms.FloatField(
        label=_("Largest standard error of b"),
        required=False,
        min_value=0.05,
        max_value=LOOSEST_MAX_SE_B,
        initial=DEFAULT_MAX_SE_B,
        help_text=_(
            "Difficulties less precise than this are flagged and cannot be applied "
            "(0.5 means the true value may be a whole logit either side)."
        ),
    )
    max_se_a = forms.FloatField(
        label=_("Largest standard error of a"),
        required=False,
        min_value=0.05,
        max_value=LOOSEST_MAX_SE_A,
        initial=DEFAULT_MAX_SE_A,
        help_text=_("Slopes less precise than this are flagged and cannot be applied."),
    )

    def clean(self):
        cleaned = super().clean()
        model, minimum = cleaned.get("model"), cleaned.get("min_responses")
        if model and minimum is not None:
            problem = min_responses_error(model=model, min_responses=minimum)
            if problem:
                self.add_error("min_responses", problem)
        return cleaned


class AcceptForm(forms.Form):
    promote_pilots = forms.BooleanField(
        label=_("Make calibrated pilot items active"),
        required=False,
        initial=False,
        help_text=_("The chosen pilot items start counting toward scores."),
    )
