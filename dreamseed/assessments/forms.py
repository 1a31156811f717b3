import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dreamseed.assessments.models import Accommodation, Assessment, Estimator, ExposureControl
from dreamseed.assessments.pools import pool_items_query
from dreamseed.itembank.models import Item, ItemStatus

_TARGET = re.compile(r"^\s*(?P<area>[^:]+?)\s*:\s*(?P<share>\d+(?:\.\d+)?)\s*%?\s*$")


def _content_area_choices():
    areas = (
        Item.objects.filter(status=ItemStatus.ACTIVE)
        .exclude(content_area="")
        .values_list("content_area", flat=True)
        .distinct()
        .order_by("content_area")
    )
    return [(area, area) for area in areas]


# Starting points for a new test: a server-side choice (/tests/new/?preset=placement) that fills
# the form's fields; the teacher may change any of them before saving.
PRESETS = {
    "placement": {
        "label": _("Placement, 15–20 items"),
        "help": _(
            "Places each student on the scale: at least 15 questions, stops once the score is "
            "precise (standard error 0.3) or at 20."
        ),
        "values": {
            "min_items": 15, "max_items": 20, "se_target": 0.3, "estimator": Estimator.EAP,
            "exposure_control": ExposureControl.RANDOMESQUE, "randomesque_k": 5,
        },
    },
    "quick_check": {
        "label": _("Quick check, 10 items"),
        "help": _("A short check during a unit: exactly 10 questions, about 10 minutes."),
        "values": {
            "min_items": 10, "max_items": 10, "se_target": None, "estimator": Estimator.EAP,
            "exposure_control": ExposureControl.RANDOMESQUE, "randomesque_k": 3,
        },
    },
}  # fmt: skip

# The fields most teachers set; the rest sit under "Advanced IRT settings".
BASIC_FIELDS = (
    "name",
    "instructions",
    "subject",
    "grade",
    "content_areas",
    "min_items",
    "max_items",
    "time_limit_minutes",
    "show_results_to_students",
)
# The fields that choose the item pool (see pools._apply_filters).
POOL_FIELDS = ("subject", "grade", "content_areas", "irt_model", "b_min", "b_max")


class AssessmentForm(forms.ModelForm):
    content_areas = forms.MultipleChoiceField(
        label=_("Content areas"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Draw items from these areas only; none ticked means all areas."),
    )
    content_targets_text = forms.CharField(
        label=_("Content balance"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Optional. One area per line with its share in percent, e.g. “Algebra: 60” and "
            "“Arithmetic: 40”. The shares must add up to 100."
        ),
    )

    class Meta:
        model = Assessment
        fields = [
            "name",
            "instructions",
            "subject",
            "grade",
            "content_areas",
            "irt_model",
            "b_min",
            "b_max",
            "estimator",
            "min_items",
            "max_items",
            "se_target",
            "exposure_control",
            "randomesque_k",
            "time_limit_minutes",
            "pilot_rate",
            "effort_moderated",
            "scale_name",
            "scale_intercept",
            "scale_slope",
            "show_results_to_students",
        ]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, preset: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content_areas"].choices = _content_area_choices()
        self.preset = preset if preset in PRESETS and not self.instance.pk else None
        if self.preset and not self.is_bound:
            self.initial.update(PRESETS[self.preset]["values"])
        if self.instance.pk and self.instance.content_targets:
            self.initial["content_targets_text"] = "\n".join(
                f"{area}: {share * 100:g}" for area, share in self.instance.content_targets.items()
            )

    def clean_max_items(self):
        value = self.cleaned_data["max_items"]
        if not 1 <= value <= 200:
            raise ValidationError(_("Use between 1 and 200 items."))
        return value

    def clean_se_target(self):
        value = self.cleaned_data["se_target"]
        if value is not None and not 0.05 <= value <= 2:
            raise ValidationError(_("Use a standard error between 0.05 and 2 (logits), e.g. 0.3."))
        return value

    def clean_pilot_rate(self):
        value = self.cleaned_data["pilot_rate"]
        if not 0 <= value <= 0.5:
            raise ValidationError(_("Use a rate between 0 and 0.5."))
        return value

    def clean_randomesque_k(self):
        value = self.cleaned_data["randomesque_k"]
        if not 1 <= value <= 20:
            raise ValidationError(_("Choose among 1 to 20 items."))
        return value

    def clean_scale_slope(self):
        value = self.cleaned_data["scale_slope"]
        if value == 0:
            raise ValidationError(_("The slope cannot be zero."))
        return value

    def clean_time_limit_minutes(self):
        value = self.cleaned_data["time_limit_minutes"]
        if value is not None and not 1 <= value <= 600:
            raise ValidationError(_("Use between 1 and 600 minutes, or leave it empty."))
        return value

    def clean_content_targets_text(self):
        text = self.cleaned_data["content_targets_text"].strip()
        if not text:
            return {}
        known = {area for area, _label in _content_area_choices()}
        targets = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            match = _TARGET.match(line)
            if not match:
                raise ValidationError(
                    _("Line %(number)s: write “area: percent”, e.g. “Algebra: 60”."),
                    params={"number": number},
                )
            area = match["area"]
            if area not in known:
                raise ValidationError(
                    _("Line %(number)s: there are no active items in “%(area)s”."),
                    params={"number": number, "area": area},
                )
            targets[area] = float(match["share"]) / 100
        if abs(sum(targets.values()) - 1) > 0.005:
            raise ValidationError(
                _("The shares add up to %(total)s%%; they must add up to 100%%."),
                params={"total": f"{sum(targets.values()) * 100:g}"},
            )
        return targets

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_items"), cleaned.get("max_items")
        if low is not None and high is not None and low > high:
            self.add_error("min_items", _("The minimum cannot be more than the maximum."))
        b_min, b_max = cleaned.get("b_min"), cleaned.get("b_max")
        if b_min is not None and b_max is not None and b_min >= b_max:
            self.add_error("b_max", _("The highest difficulty must be above the lowest."))
        return cleaned

    def basic_fields(self):
        return [self[name] for name in BASIC_FIELDS]

    def advanced_fields(self):
        return [field for field in self.visible_fields() if field.name not in BASIC_FIELDS]

    def advanced_has_errors(self) -> bool:
        return any(field.errors for field in self.advanced_fields())

    def _value(self, name):
        """A setting as the page shows it: cleaned when valid, else the initial or saved value."""
        if self.is_bound and name in getattr(self, "cleaned_data", {}):
            return self.cleaned_data[name]
        if not self.is_bound and name in self.initial:
            return self.initial[name]
        return getattr(self.instance, name)

    def pool_size(self) -> int:
        """How many active items the pool filters on the page match, before anything is saved."""
        draft = Assessment(**{name: self._value(name) for name in POOL_FIELDS})
        return pool_items_query(draft).count()

    def min_items_value(self) -> int:
        value = self._value("min_items")
        return value if isinstance(value, int) and value > 0 else 1

    def save(self, commit=True):
        self.instance.content_targets = self.cleaned_data.get("content_targets_text") or {}
        return super().save(commit)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class AssignmentWindowForm(forms.Form):
    """When a test is open and how often it may be taken (assigning to classes here, or a deep
    link from an LMS)."""

    default_days_open = 7

    opens_at = forms.DateTimeField(label=_("Opens"), widget=DateTimeLocalInput())
    closes_at = forms.DateTimeField(label=_("Closes"), widget=DateTimeLocalInput())
    attempts_allowed = forms.IntegerField(
        label=_("Attempts allowed"), min_value=1, max_value=10, initial=1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["opens_at"].initial = now
        self.fields["closes_at"].initial = now + timezone.timedelta(days=self.default_days_open)

    def clean(self):
        cleaned = super().clean()
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The test must close after it opens."))
        return cleaned


class AssignForm(AssignmentWindowForm):
    classes = forms.ModelMultipleChoiceField(
        label=_("Classes"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    field_order = ["classes", "opens_at", "closes_at", "attempts_allowed"]

    def __init__(self, *args, classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classes"].queryset = classes


class AccommodationForm(forms.ModelForm):
    class Meta:
        model = Accommodation
        fields = ["student", "extra_time_multiplier", "extra_attempts"]

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["extra_time_multiplier"].help_text = _("1.5 gives half as much time again.")

    def clean_extra_time_multiplier(self):
        value = self.cleaned_data["extra_time_multiplier"]
        if not 1 <= value <= 4:
            raise ValidationError(_("Use a multiplier between 1 and 4."))
        return value

    def clean_extra_attempts(self):
        value = self.cleaned_data["extra_attempts"]
        if value > 5:
            raise ValidationError(_("At most 5 extra attempts."))
        return value


class MarkForm(forms.Form):
    """Points a teacher gives one rubric-marked answer (the range is checked against the item by
    services.attempt_mark)."""

    attempt = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    points = forms.IntegerField(
        label=_("Points"),
        min_value=0,
        error_messages={
            "required": _("Enter the points for this answer."),
            "invalid": _("Enter the points as a whole number."),
            "min_value": _("Points cannot be negative."),
        },
    )
