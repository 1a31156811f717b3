from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dreamseed.accounts.models import STAFF_ROLES, User
from dreamseed.classes.models import JOIN_CODE_LENGTH, Class
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


ROSTER_MAX_BYTES = 1_000_000
NAME_MAX_LENGTH = 150
GRADE_MAX_LENGTH = 20

_LONGER_THAN = _("Longer than %(limit_value)s characters.")
_BAD_USERNAME = _(
    "'%(value)s' is not a valid username: use at most 150 letters, digits and @ . + - _ "
    "(no spaces)."
)
_BAD_EMAIL = _("'%(value)s' is not a valid email address.")


class _FirstErrorOnly:
    """A value that is both too long and malformed gets one message, not the same one twice."""

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as error:
            raise ValidationError(error.error_list[:1]) from None


class _UsernameField(_FirstErrorOnly, forms.RegexField):
    pass


class _EmailField(_FirstErrorOnly, forms.EmailField):
    pass


class StudentAddForm(forms.Form):
    """The rules for one student, and the only place they are written.

    Used by the add-a-student page, by each line of a roster import (`roster.roster_plan`, which
    reports the errors as "Line N, column 'x': ...") and by the API
    (`api.serializers.StudentCreateSerializer`, as a 400 body), so all three accept the same
    values and word their refusals the same way.
    """

    first_name = forms.CharField(
        label=_("First name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": _("A first name is required."), "max_length": _LONGER_THAN},
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": _("A last name is required."), "max_length": _LONGER_THAN},
    )
    username = _UsernameField(
        label=_("Username"),
        max_length=NAME_MAX_LENGTH,
        required=False,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _BAD_USERNAME, "max_length": _BAD_USERNAME},
        help_text=_("What the student types to sign in. Leave empty to use their email."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = _EmailField(
        label=_("Email"),
        required=False,
        error_messages={"invalid": _BAD_EMAIL, "max_length": _BAD_EMAIL},
    )
    grade = forms.CharField(
        label=_("Grade"),
        max_length=GRADE_MAX_LENGTH,
        required=False,
        error_messages={"required": _("A grade is required."), "max_length": _LONGER_THAN},
    )

    def __init__(self, *args, grade_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A roster line describes the whole student: a blank grade there would erase the grade of
        # a student it updates, so the import asks for one. Adding one student, it is optional.
        self.fields["grade"].required = grade_required

    def clean_username(self) -> str:
        return self.cleaned_data["username"].lower()

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()

    def clean(self):
        cleaned = super().clean()
        if self.has_error("username") or self.has_error("email"):
            return cleaned
        username, email = cleaned.get("username"), cleaned.get("email")
        if not username and not email:
            self.add_error("username", _("A username or an email address is required."))
        elif not username and len(email) > NAME_MAX_LENGTH:
            self.add_error(
                "email",
                _("An email address used as a username can have at most %(max)s characters.")
                % {"max": NAME_MAX_LENGTH},
            )
        return cleaned

    @property
    def login_name(self) -> str | None:
        """The username this row signs in with (the email address when there is no username),
        or None while it is not valid."""
        username = self.cleaned_data.get("username")
        if username:
            return username
        if self.has_error("username") or self.has_error("email"):
            return None
        return self.cleaned_data.get("email") or None


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


class AccommodationsForm(forms.Form):
    read_aloud = forms.BooleanField(
        label=_("Read aloud"),
        required=False,
        help_text=_(
            "The test page shows a Read aloud button that reads the question and its answers "
            "out loud (in the language of the page), for young or struggling readers."
        ),
    )
