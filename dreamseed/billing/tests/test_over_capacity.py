"""Seats lowered in Stripe's portal below the school's active students: the licence enters a
visible over-capacity state (banner, e-mail, operator list, no new students) until seats and
students match again."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from dreamseed.accounts.models import Role, User
from dreamseed.billing import services
from dreamseed.billing.models import BillingNotice, EventOutcome, NoticeKind
from dreamseed.billing.tests.conftest import SUBSCRIPTION_ID, for_school, load, subscription
from dreamseed.classes.tests.conftest import make_class, make_students
from dreamseed.schools.licensing import SeatLimitReached, assert_can_add_students
from dreamseed.schools.models import School
from dreamseed.testing import in_schema

pytestmark = pytest.mark.django_db


def _reload(school: School) -> School:
    return School.objects.get(pk=school.pk)


def _active_students(schema: str) -> int:
    with in_schema(schema):
        return User.objects.filter(role=Role.STUDENT, is_active=True).count()


@pytest.fixture
def portal_lowered_seats(fake_stripe, deliver, alpha_school, alpha_student, alpha_student2):
    """Alpha pays for 5 seats with 5 active students; then an admin lowers the quantity to 2 in
    Stripe's customer portal, and Stripe sends customer.subscription.updated."""
    make_students(alpha_student, 3, prefix="extra")
    assert _active_students("alpha") == 5
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=5)
    deliver(for_school(load("customer_subscription_created"), alpha_school))
    assert _reload(alpha_school).licence_over_capacity_since is None
    mail.outbox.clear()

    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=2)
    response, row = deliver(for_school(load("customer_subscription_updated"), alpha_school))
    assert response.status_code == 200
    assert row.outcome == EventOutcome.PROCESSED
    return _reload(alpha_school)


def test_seats_lowered_below_the_students_put_the_school_over_capacity(portal_lowered_seats):
    school = portal_lowered_seats
    assert school.seats == 2
    assert school.licence_over_capacity_since is not None
    notice = BillingNotice.objects.get(school=school, kind=NoticeKind.OVER_CAPACITY)
    assert notice.is_open
    assert notice.details == {"used": 5, "seats": 2}


def test_the_admins_are_emailed_once_with_what_to_do(portal_lowered_seats, deliver, fake_stripe):
    [email] = mail.outbox
    assert email.to == ["admin@alpha.example"]
    assert email.subject == "Alpha School: more active students than licence seats"
    assert "lowered in Stripe's billing portal to 2" in email.body
    assert "has 5 active students: 3 more" in email.body
    assert "no students can be added or reactivated" in email.body
    assert "http://alpha.localhost:8000/billing/" in email.body

    # Stripe says it again (another event, or a reconciliation): no second e-mail.
    event = for_school(load("invoice_paid"), portal_lowered_seats)
    deliver(event)
    assert len(mail.outbox) == 1
    assert BillingNotice.objects.filter(kind=NoticeKind.OVER_CAPACITY).count() == 1


def test_no_students_can_be_added_while_over_capacity(
    portal_lowered_seats, client_for, alpha_teacher
):
    with in_schema("alpha"), pytest.raises(SeatLimitReached) as refused:
        assert_can_add_students(1, school=_reload(portal_lowered_seats))
    assert "more active students (5) than its licence has seats (2)" in refused.value.message

    school_class = make_class(alpha_teacher, "Over capacity 5A")
    response = client_for(alpha_teacher).post(
        f"/classes/{school_class.pk}/students/new/",
        {"first_name": "Nina", "last_name": "Park", "username": "nina.park", "grade": "5"},
    )
    assert "more active students (5) than its licence has seats (2)" in response.text
    assert _active_students("alpha") == 5


def test_the_admin_sees_a_banner_and_the_billing_page_says_what_to_do(
    portal_lowered_seats, client_for, alpha_admin, alpha_teacher, beta_admin
):
    assert "More active students" not in client_for(beta_admin).get("/billing/").text
    home = client_for(alpha_admin).get("/", follow=True).text
    assert "More active students than seats." in home
    assert "Buy seats or see what to do" in home
    teacher_home = client_for(alpha_teacher).get("/", follow=True).text
    assert "More active students than seats." in teacher_home
    assert "Your school administrator can buy more seats." in teacher_home

    page = client_for(alpha_admin).get("/billing/").text
    assert "Your school has 5 active students but its licence has 2 seats (3 too few)" in page
    assert "What to do:" in page
    assert 'value="5"' in page  # the seat form suggests enough seats for every student
    assert 'href="/privacy/students/">Student data</a>' in page


def test_removing_a_student_who_left_resolves_it(
    portal_lowered_seats, client_for, alpha_admin, django_capture_on_commit_callbacks
):
    with in_schema("alpha"):
        leavers = list(User.objects.filter(username__startswith="extra").order_by("pk"))
    admin = client_for(alpha_admin)
    with django_capture_on_commit_callbacks(execute=True):
        for student in leavers:
            response = admin.post(
                f"/privacy/students/{student.pk}/delete/", {"confirm_username": student.username}
            )
            assert response.status_code in (302, 303), response.status_code

    assert _reload(portal_lowered_seats).licence_over_capacity_since is None
    assert "More active students than seats" not in admin.get("/billing/").text


def test_the_operator_lists_schools_over_capacity(portal_lowered_seats, operator_client):
    listing = operator_client.get("/operator/billing/billingnotice/?open=yes&kind=over_capacity")
    assert listing.status_code == 200
    assert "Alpha School" in listing.text
    assert "5 active students, 2 seats" in listing.text
    schools = operator_client.get("/operator/schools/school/?over_capacity=yes").text
    assert "Alpha School" in schools and "Beta School" not in schools


def test_deactivating_students_resolves_it(
    portal_lowered_seats, client_for, alpha_admin, django_capture_on_commit_callbacks
):
    with in_schema("alpha"), django_capture_on_commit_callbacks(execute=True):
        for student in User.objects.filter(username__startswith="extra"):
            student.is_active = False
            student.save(update_fields=["is_active"])

    school = _reload(portal_lowered_seats)
    assert school.licence_over_capacity_since is None
    notice = BillingNotice.objects.get(kind=NoticeKind.OVER_CAPACITY)
    assert not notice.is_open
    assert notice.details["resolved_with"] == {"used": 2, "seats": 2}
    assert "More active students than seats." not in client_for(alpha_admin).get("/billing/").text


def test_buying_seats_resolves_it(portal_lowered_seats, fake_stripe, deliver):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(portal_lowered_seats, quantity=6)
    event = for_school(load("invoice_paid"), portal_lowered_seats)

    deliver(event)

    school = _reload(portal_lowered_seats)
    assert (school.seats, school.licence_over_capacity_since) == (6, None)
    assert not BillingNotice.objects.filter(resolved_at__isnull=True).exists()
    assert len(mail.outbox) == 1  # only the first warning


def test_the_app_refuses_to_lower_seats_below_the_students(
    fake_stripe, client_for, alpha_admin, alpha_school, alpha_student, alpha_student2
):
    School.objects.filter(pk=alpha_school.pk).update(
        stripe_customer_id="cus_TQv8dreamSeed01",
        stripe_subscription_id=SUBSCRIPTION_ID,
        stripe_subscription_status="active",
        seats=5,
    )
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(alpha_school, quantity=5)

    response = client_for(alpha_admin).post("/billing/checkout/", {"seats": "1"})

    assert response.status_code == 400
    assert "choose at least 2 seats" in response.text
    assert fake_stripe.calls("POST", "/v1/billing_portal/sessions") == []
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []
    fake_stripe.requests.clear()
    with pytest.raises(ValidationError):
        services.billing_checkout_start(
            school=alpha_school,
            seats=1,
            min_seats=2,
            success_url="http://alpha.localhost/billing/success/",
            cancel_url="http://alpha.localhost/billing/",
        )
    assert fake_stripe.requests == []


def test_a_read_only_school_is_not_over_capacity(portal_lowered_seats, fake_stripe, deliver):
    fake_stripe.subscriptions[SUBSCRIPTION_ID] = subscription(
        portal_lowered_seats, quantity=2, status="canceled", canceled_at=1, ended_at=1
    )
    deliver(for_school(load("customer_subscription_deleted"), portal_lowered_seats))

    assert _reload(portal_lowered_seats).licence_over_capacity_since is None
