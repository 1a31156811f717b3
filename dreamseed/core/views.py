"""The school home page, which differs by role; the 404 answer."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from dreamseed.accounts.models import Role, User
from dreamseed.classes.forms import JoinClassForm
from dreamseed.classes.models import Class
from dreamseed.classes.selectors import class_list_for


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
        return render(
            request, "core/dashboard_teacher.html", {"classes": class_list_for(user=user)}
        )
    from dreamseed.assessments.views import home_context

    context = {"classes": class_list_for(user=user), "join_form": JoinClassForm()}
    context.update(home_context(user))  # the tests open to the student now
    return render(request, "core/dashboard_student.html", context)


def page_not_found(request, exception):
    """The 404 page, or under /api/ the JSON answer DRF gives for a missing object."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
