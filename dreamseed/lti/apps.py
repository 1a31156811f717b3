from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LtiConfig(AppConfig):
    name = "dreamseed.lti"
    label = "lti"
    verbose_name = _("LMS integration (LTI)")

    def ready(self):
        from dreamseed.assessments.signals import session_finished
        from dreamseed.lti import receivers

        session_finished.connect(
            receivers.grade_passback_on_finish, dispatch_uid="lti-grade-passback"
        )
