from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dreamseed.assessments.forms import AssignmentWindowForm
from dreamseed.assessments.models import Assessment
from dreamseed.core.outbound import validate_url
from dreamseed.lti.models import LtiPlatform, Vendor, origin_of

# Canvas cloud uses these for every school (self-hosted Canvas: the Canvas site's own address).
CANVAS_DEFAULTS = {
    "issuer": "https://canvas.instructure.com",
    "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
    "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
    "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
}
# Moodle: paths under the site address (which is also the issuer).
MOODLE_PATHS = {
    "auth_login_url": "/mod/lti/auth.php",
    "auth_token_url": "/mod/lti/token.php",
    "key_set_url": "/mod/lti/certs.php",
}

_url = URLValidator(schemes=["https", "http"])


def _https_by_default(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class PlatformForm(forms.ModelForm):
    deployment_ids = forms.CharField(
        label=_("Deployment IDs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line. Canvas shows it when the tool is installed (account or course "
            "settings, Apps); Moodle shows it in the tool's details."
        ),
    )

    class Meta:
        model = LtiPlatform
        formfield_callback = _https_by_default
        fields = [
            "name",
            "vendor",
            "issuer",
            "client_id",
            "deployment_ids",
            "auth_login_url",
            "auth_token_url",
            "key_set_url",
            "auth_audience",
            "frame_origins",
        ]
        # Text inputs, not type=url: the stylesheet styles text fields (and URLs are validated).
        widgets = {
            "frame_origins": forms.Textarea(attrs={"rows": 2}),
            **{
                name: forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false"})
                for name in ("issuer", "auth_login_url", "auth_token_url", "key_set_url")
            },
        }
        help_texts = {
            "name": _("For you: how this LMS appears in DreamSeed."),
            "issuer": _(
                "Canvas: https://canvas.instructure.com. Moodle: the site address, e.g. "
                "https://moodle.school.org."
            ),
            "client_id": _("Canvas: the developer key's ID. Moodle: the tool's client ID."),
            "frame_origins": _(
                "One per line, e.g. https://school.instructure.com. DreamSeed lets only these "
                "addresses (and the issuer's) show it inside a frame. Needed for Canvas."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["deployment_ids"].initial = "\n".join(self.instance.deployment_id_list)
        self.fields["vendor"].widget.attrs["data-lti-vendor"] = ""
        for name, value in CANVAS_DEFAULTS.items():
            self.fields[name].widget.attrs["data-canvas-default"] = value
        for name, path in MOODLE_PATHS.items():
            self.fields[name].widget.attrs["data-moodle-path"] = path
        self.fields["issuer"].widget.attrs["data-moodle-site"] = ""

    def clean_issuer(self):
        issuer = self.cleaned_data["issuer"].strip()
        try:
            _url(issuer)
        except ValidationError as error:
            raise ValidationError(_("The issuer is a web address, like https://…")) from error
        return issuer

    def _clean_outbound(self, name: str) -> str:
        # DreamSeed's server fetches these (or, for the login URL, sends browsers there): the
        # outbound policy refuses this server's own network and, in production, plain http.
        url = self.cleaned_data[name].strip()
        validate_url(url)
        return url

    def clean_auth_login_url(self):
        return self._clean_outbound("auth_login_url")

    def clean_auth_token_url(self):
        return self._clean_outbound("auth_token_url")

    def clean_key_set_url(self):
        return self._clean_outbound("key_set_url")

    def clean_client_id(self):
        return self.cleaned_data["client_id"].strip()

    def clean_deployment_ids(self):
        ids = [line.strip() for line in self.cleaned_data["deployment_ids"].splitlines()]
        ids = list(dict.fromkeys(line for line in ids if line))
        if not ids:
            raise ValidationError(_("Give at least one deployment ID."))
        if any(len(line) > 255 for line in ids):
            raise ValidationError(_("A deployment ID is at most 255 characters."))
        return ids

    def clean_frame_origins(self):
        origins = []
        for line in self.cleaned_data["frame_origins"].split():
            origin = origin_of(line)
            if not origin:
                raise ValidationError(
                    _("“%(value)s” is not a web address like https://school.instructure.com.")
                    % {"value": line}
                )
            if origin not in origins:
                origins.append(origin)
        return "\n".join(origins)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("vendor") == Vendor.CANVAS and not cleaned.get("frame_origins"):
            self.add_error(
                "frame_origins",
                _("Give your Canvas address (e.g. https://school.instructure.com): Canvas shows "
                  "DreamSeed in a frame on that address."),
            )  # fmt: skip
        return cleaned

    def platform_fields(self) -> dict:
        return {
            name: value for name, value in self.cleaned_data.items() if name != "deployment_ids"
        }


class DeepLinkForm(AssignmentWindowForm):
    """A teacher, in the LMS's "add activity" dialog, picks the test to place."""

    # The LMS has its own due dates; DreamSeed's window only needs to contain them.
    default_days_open = 180

    assessment = forms.ModelChoiceField(
        label=_("Test"), queryset=Assessment.objects.none(), empty_label=None,
        widget=forms.RadioSelect,
    )  # fmt: skip
    field_order = ["assessment", "opens_at", "closes_at", "attempts_allowed"]

    def __init__(self, *args, assessments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessment"].queryset = assessments
