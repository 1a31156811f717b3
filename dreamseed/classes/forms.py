from django import forms
from django.utils.translation import gettext_lazy as _

from dreamseed.accounts.models import STAFF_ROLES, User
from dreamseed.classes.models import JOIN_CODE_LENGTH, Class
from dreamseed.classes.roster import GRADE_MAX_LENGTH, ROSTER_MAX_BYTES
from dreamseed.core.uploads import upload_check


class TeacherChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class ClassForm(forms.ModelForm):
    teachers = TeacherChoiceField(
        label=_("Teachers"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Everyone ticked here can see and manage the class."),
    )

    class Meta:
        model = Class
        fields = ["name", "subject", "grade"]
        help_texts = {"grade": _("For example 5, K or Year 7.")}

    def __init__(self, *args, teachers_initial=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teachers"].queryset = User.objects.filter(
            role__in=STAFF_ROLES, is_active=True
        ).order_by("last_name", "first_name")
        if self.instance.pk:
            self.fields["teachers"].initial = list(
                self.instance.teacher_links.values_list("teacher_id", flat=True)
            )
        elif teachers_initial is not None:
            self.fields["teachers"].initial = [teacher.pk for teacher in teachers_initial]


class JoinClassForm(forms.Form):
    code = forms.CharField(
        label=_("Class code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "join-code-input",
            }
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _(
            "The %(length)s-character code your teacher gave you."
        ) % {"length": JOIN_CODE_LENGTH}


class StudentAddForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        required=False,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use only letters, digits and @ . + - _ (no spaces).")},
        help_text=_("What the student types to sign in. Leave empty to use their email."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("Email"), required=False)
    grade = forms.CharField(label=_("Grade"), max_length=GRADE_MAX_LENGTH, required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("username") and not cleaned.get("email") and not self.errors:
            self.add_error("username", _("Give a username or an email address."))
        return cleaned


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Roster file (CSV)"),
        help_text=_(
            "UTF-8 CSV with a header row. Columns: first_name, last_name, username and/or email, "
            "grade, and optionally class. At most 1 MB and 5,000 students."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Spreadsheets save "CSV" as .csv; copy-pasted rosters arrive as .txt.
        upload_check(upload, max_bytes=ROSTER_MAX_BYTES, extensions=(".csv", ".txt"), what="CSV")
        return upload


class StudentSelectionForm(forms.Form):
    """A set of students picked with checkboxes, limited to the ones the page offered."""

    students = forms.ModelMultipleChoiceField(
        label=_("Students"),
        queryset=User.objects.none(),
        error_messages={"required": _("Select at least one student.")},
    )

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = students
