from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dreamseed.billing.services import MAX_SEATS


class SeatsForm(forms.Form):
    seats = forms.IntegerField(
        label=_("Student seats"),
        min_value=1,
        max_value=MAX_SEATS,
        help_text=_("One seat per active student, per year. You can change this again later."),
    )

    def __init__(self, *args, seats_used: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.seats_used = seats_used

    def clean_seats(self):
        seats = self.cleaned_data["seats"]
        if seats < self.seats_used:
            raise forms.ValidationError(
                ngettext(
                    "Your school has %(used)s active student: choose at least %(used)s seat, or "
                    "deactivate students who have left first.",
                    "Your school has %(used)s active students: choose at least %(used)s seats, "
                    "or deactivate students who have left first.",
                    self.seats_used,
                )
                % {"used": self.seats_used}
            )
        return seats
