"""In Chromium: a teacher opens a class, sees its instructional groups, opens a student and sees
the growth chart."""

import pytest
from playwright.sync_api import expect

from dreamseed.testing import PASSWORD, in_schema


@pytest.fixture
def committed_history(committed_db, personas):
    """The hand-checked history of history.py, committed for the live server; removed after."""
    from django.utils import timezone

    from dreamseed.accounts.models import User
    from dreamseed.assessments.models import Assessment, ExamSession
    from dreamseed.classes.tests.history import make_history
    from dreamseed.itembank.models import Item
    from dreamseed.privacy.models import AuditEvent

    teacher = personas["alpha_teacher"]
    started = timezone.now()
    with in_schema(teacher.schema_name):
        history = make_history(
            teacher=teacher.user,
            sam=personas["alpha_student"].user,
            sara=personas["alpha_student2"].user,
        )
    yield history
    with in_schema(teacher.schema_name):
        AuditEvent.objects.filter(created_at__gte=started).delete()
        ExamSession.objects.filter(assignment__school_class=history.school_class).delete()
        Assessment.objects.filter(
            pk__in=[history.fall.assessment_id, history.winter.assessment_id]
        ).delete()
        history.school_class.delete()
        item_ids = [item.pk for item in history.items]
        Item.objects.filter(pk__in=item_ids).update(current_version=None)
        for item in Item.objects.filter(pk__in=item_ids):
            item.versions.all().delete()
            item.delete()
        User.objects.filter(pk__in=[history.uma.pk, history.nora.pk]).delete()


@pytest.mark.browser
def test_a_teacher_opens_a_class_sees_groups_and_a_students_growth_chart(
    live_server, committed_history, personas, page
):
    teacher = personas["alpha_teacher"]
    base = live_server.url("alpha.localhost", "")
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username or email").fill(teacher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Classes").click()
    page.get_by_role("link", name="Math 5A").click()
    results = page.get_by_role("region", name="Results", exact=True)
    expect(results).to_contain_text("sittings finished of 8 expected")
    expect(results).to_contain_text("Winter check")

    page.get_by_role("link", name="Groups", exact=True).click()
    by_band = page.get_by_role("region", name="By achievement band")
    expect(by_band.get_by_role("region", name="Well above average (1)")).to_contain_text(
        "Student, Sam"
    )
    by_area = page.get_by_role("region", name="By weakest content area")
    expect(by_area.get_by_role("region", name="Geometry (1)")).to_contain_text("Student, Sam")

    by_band.get_by_role("link", name="Student, Sam").click()
    chart = page.get_by_role("img", name="Scale score over time")
    expect(chart).to_be_visible()
    expect(page.get_by_role("region", name="Growth", exact=True)).to_contain_text(
        "from 200 to 210 (10), a change larger than the measurement error"
    )
