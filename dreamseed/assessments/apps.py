from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "dreamseed.assessments"
    verbose_name = _("Assessments")

    def ready(self):
        from dreamseed.assessments import receivers
        from dreamseed.assessments.models import Assignment, ExamSession

        post_save.connect(receivers.session_saved, sender=ExamSession, dispatch_uid="due-session")
        post_save.connect(
            receivers.assignment_saved, sender=Assignment, dispatch_uid="due-assignment"
        )
