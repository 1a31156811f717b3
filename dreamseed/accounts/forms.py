from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from dreamseed.accounts.models import Role


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username or email"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean_username(self):
        # Usernames are stored lower-case (emails, roster imports); let people type either case.
        return self.cleaned_data["username"].strip().lower()


class StaffAddForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.TEACHER, Role.TEACHER.label), (Role.ADMIN, Role.ADMIN.label)],
        initial=Role.TEACHER,
    )
