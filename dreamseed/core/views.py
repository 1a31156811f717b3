"""The school home page, which differs by role; the 404 answer."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views import defaults

from dreamseed.accounts.models import Role, User
from dreamseed.classes.forms import JoinClassForm
from dreamseed.classes.models import Class
from dreamseed.classes.results import teacher_attention
from dreamseed.classes.selectors import class_list_for

#: Home pages opened within this time of each other are one visit: "finished since your last
#: visit" keeps its meaning across reloads.
VISIT_GAP = timedelta(minutes=30)
FIRST_VISIT_LOOKBACK = timedelta(days=7)


def _last_visit(request):
    """When the teacher's previous visit began (a week ago on the first visit). The session is
    written only when a new visit begins."""
    now = timezone.now()
    started = parse_datetime(request.session.get("home_visit_at", ""))
    since = parse_datetime(request.session.get("home_since", ""))
    if started is None or now - started > VISIT_GAP:
        since = started or now - FIRST_VISIT_LOOKBACK
        request.session["home_visit_at"] = now.isoformat()
        request.session["home_since"] = since.isoformat()
    return since or now - FIRST_VISIT_LOOKBACK


@login_required
def dashboard(request):
    user = request.user
    if user.role == Role.ADMIN:
        context = {
            "teacher_count": User.objects.filter(role=Role.TEACHER, is_active=True).count(),
            "student_count": User.objects.filter(role=Role.STUDENT, is_active=True).count(),
            "admin_count": User.objects.filter(role=Role.ADMIN, is_active=True).count(),
            "class_count": Class.objects.active().count(),
        }
        return render(request, "core/dashboard_admin.html", context)
    if user.role == Role.TEACHER:
        classes = class_list_for(user=user)
        context = {"classes": classes}
        context.update(teacher_attention(classes=classes, since=_last_visit(request)))
        return render(request, "core/dashboard_teacher.html", context)
    from dreamseed.assessments.views import home_context

    context = {"classes": class_list_for(user=user), "join_form": JoinClassForm()}
    context.update(home_context(user))  # the tests open to the student now
    return render(request, "core/dashboard_student.html", context)


def page_not_found(request, exception):
    """The 404 page, or under /api/ the JSON answer DRF gives for a missing object."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
