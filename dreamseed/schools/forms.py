from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dreamseed.schools.services import school_normalise_subdomain, school_validate_subdomain


class SchoolSignupForm(forms.Form):
    name = forms.CharField(label=_("School name"), max_length=120)
    subdomain = forms.CharField(
        label=_("School address"),
        max_length=40,
        help_text=_(
            "Lowercase letters, digits and hyphens; your school will live at this address."
        ),
    )
    first_name = forms.CharField(label=_("Your first name"), max_length=150)
    last_name = forms.CharField(label=_("Your last name"), max_length=150)
    email = forms.EmailField(label=_("Your email"), help_text=_("You will sign in with it."))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if len(name) < 2:
            raise ValidationError(_("Please enter the school's full name."))
        return name

    def clean_subdomain(self):
        subdomain = school_normalise_subdomain(self.cleaned_data["subdomain"])
        school_validate_subdomain(subdomain)
        return subdomain

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        elif password1:
            # Validate against the person's own details, as Django's user forms do.
            from dreamseed.accounts.models import User

            candidate = User(
                username=cleaned.get("email", ""),
                email=cleaned.get("email", ""),
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class FindSchoolForm(forms.Form):
    subdomain = forms.CharField(label=_("School address"), max_length=40)
