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
from dreamseed.itembank.models import CALIBRATION_MODELS, IrtModel, Item, ItemStatus
from dreamseed.itembank.sanitize import option_source, stem_source
from dreamseed.itembank.selectors import ITEM_SORTS, ItemFilters
from dreamseed.itembank.validation import OPTION_FIELDS, OPTION_KEYS, item_values_clean


def _number_input(**attrs):
    return forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", **attrs})


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
    correct_key = forms.ChoiceField(
        label=_("Correct option"),
        required=False,
        choices=[(key, key) for key in OPTION_KEYS],
        widget=forms.RadioSelect,
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
        if item is not None:
            self.fields["external_id"].disabled = True
            self.fields["external_id"].help_text = _("The stable id used by import and export.")
        self.values = None

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
        }
        if version is not None:
            initial["stem"] = stem_source(version.stem)
            initial["correct_key"] = version.correct_key
            for option, name in zip(version.options, OPTION_FIELDS, strict=False):
                initial[name] = option_source(option["text"])
        return initial

    def option_rows(self):
        """(key, text field) pairs for the template, with the matching radio button."""
        radios = {choice.data["value"]: choice for choice in self["correct_key"]}
        return [
            {"key": key, "field": self[name], "radio": radios[key]}
            for name, key in zip(OPTION_FIELDS, OPTION_KEYS, strict=True)
        ]

    def clean(self):
        data = dict(self.cleaned_data)
        if self.item is not None:
            data["external_id"] = self.item.external_id
        values, errors = item_values_clean(data)
        for name, messages in errors.items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)
        self.values = values
        return self.cleaned_data


class ItemFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    subject = forms.ChoiceField(label=_("Subject"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    tag = forms.CharField(label=_("Content area or tag"), required=False, max_length=80)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ItemStatus.choices]
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
