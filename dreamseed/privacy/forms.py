from django import forms
from django.utils.translation import gettext_lazy as _

from dreamseed.privacy.models import AuditAction
from dreamseed.privacy.selectors import AuditFilters


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    student = forms.CharField(label=_("Student"), required=False, max_length=100)
    actor = forms.CharField(label=_("Who"), required=False, max_length=100)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("Any action")), *AuditAction.choices],
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)
    # Set by the link on a student's data page: exactly that student, not a name match.
    student_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters; an invalid field filters nothing (its error is shown)."""
        if not self.is_bound:
            return AuditFilters()
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return AuditFilters(
            student=(data.get("student") or "").strip(),
            student_id=data.get("student_id"),
            actor=(data.get("actor") or "").strip(),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class StudentSearchForm(forms.Form):
    q = forms.CharField(label=_("Search students"), required=False, max_length=100)


class StudentDeleteForm(forms.Form):
    confirm_username = forms.CharField(
        label=_("Type the student's username to confirm"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, student, **kwargs):
        super().__init__(*args, **kwargs)
        self.student = student

    def clean_confirm_username(self):
        typed = self.cleaned_data["confirm_username"].strip()
        if typed != self.student.username:
            raise forms.ValidationError(_("Type the student's username exactly as shown."))
        return typed
