"""The demo school that `make run` seeds: real-looking people so every page has something to show.

Idempotent: running it again leaves an existing demo school as it is and only fills in what is
missing. Later parts of the product (classes, item bank) add their own demo data here.
"""

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_tenants.utils import tenant_context

from dreamseed.accounts.models import Role, User
from dreamseed.assessments.demo import demo_assessments_seed
from dreamseed.itembank.demo import demo_bank_seed
from dreamseed.itembank.statistics import item_statistics_compute
from dreamseed.schools.models import School
from dreamseed.schools.services import platform_bootstrap, school_create, school_schema_name

DEMO_SUBDOMAIN = "demo"
DEMO_PASSWORD = "dreamseed-demo"
FIRST_NAMES = [
    "Mina", "Jae", "Sofia", "Lucas", "Ava", "Mateo", "Hana", "Noah", "Yuna", "Diego",
    "Emma", "Ji-ho", "Lucia", "Ethan", "Seo-yeon", "Leo", "Olivia", "Min-jun", "Valentina",
    "Liam", "Isabella", "Daniel", "Camila", "Ha-eun", "Samuel", "Chloe", "Gabriel", "Ji-woo",
    "Elena", "Owen",
]  # fmt: skip
LAST_NAMES = [
    "Kim", "Lee", "Garcia", "Park", "Martinez", "Choi", "Lopez", "Jung", "Smith", "Kang",
    "Hernandez", "Cho", "Johnson", "Yoon", "Rodriguez", "Jang", "Brown", "Lim", "Sanchez", "Han",
]  # fmt: skip


@dataclass
class DemoLogins:
    host: str
    admin: str
    teachers: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def demo_seed(*, students: int = 30) -> DemoLogins:
    platform_bootstrap()
    school = School.objects.filter(schema_name=school_schema_name(DEMO_SUBDOMAIN)).first()
    if school is None:
        school = school_create(
            name="Demo School",
            subdomain=DEMO_SUBDOMAIN,
            admin_email="admin@demo.example",
            admin_first_name="Ana",
            admin_last_name="Admin",
            admin_password=DEMO_PASSWORD,
            email_confirmed=True,
        ).school
    rng = random.Random(2026)
    # One hash for every demo account: hashing is deliberately slow (~0.3 s each).
    password_hash = make_password(DEMO_PASSWORD)
    # The school's own transaction commits inside its schema: work queued with on_commit (a
    # finished demo sitting's grade passback check) then runs there, not in the public schema.
    with tenant_context(school), transaction.atomic():
        teachers = [
            _ensure_user("teacher1@demo.example", "Grace", "Hopper", Role.TEACHER, password_hash),
            _ensure_user("teacher2@demo.example", "Min-seo", "Park", Role.TEACHER, password_hash),
        ]
        pupils = []
        for index in range(students):
            first = FIRST_NAMES[index % len(FIRST_NAMES)]
            last = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
            username = f"student{index + 1:02d}"
            pupils.append(_ensure_user(username, first, last, Role.STUDENT, password_hash))
        _ensure_classes(teachers, pupils)
        demo_bank_seed()
        demo_assessments_seed()
        item_statistics_compute()  # so the bank shows statistics from the first start
        return DemoLogins(
            host=school.primary_host,
            admin="admin@demo.example",
            teachers=[teacher.username for teacher in teachers],
            students=[pupil.username for pupil in pupils],
        )


# Two classes per teacher, each with every demo student: a full roster on every class page.
DEMO_CLASSES = [
    ("teacher1@demo.example", "Math 5A", "Math"),
    ("teacher1@demo.example", "Science 5A", "Science"),
    ("teacher2@demo.example", "Reading 5A", "Reading"),
    ("teacher2@demo.example", "Social Studies 5A", "Social studies"),
]
DEMO_GRADE = "5"


def _ensure_classes(teachers: list[User], pupils: list[User]) -> None:
    from dreamseed.classes.models import Class, Enrollment, StudentProfile
    from dreamseed.classes.services import class_create

    by_username = {teacher.username: teacher for teacher in teachers}
    StudentProfile.objects.bulk_create(
        [StudentProfile(user=pupil, grade=DEMO_GRADE) for pupil in pupils], ignore_conflicts=True
    )
    for username, name, subject in DEMO_CLASSES:
        teacher = by_username[username]
        school_class = Class.objects.filter(name=name, teachers=teacher).first()
        if school_class is None:
            school_class = class_create(
                name=name, subject=subject, grade=DEMO_GRADE, teachers=[teacher], created_by=teacher
            )
        Enrollment.objects.bulk_create(
            [Enrollment(school_class=school_class, student=pupil) for pupil in pupils],
            ignore_conflicts=True,
        )


def _ensure_user(
    username: str, first_name: str, last_name: str, role: str, password_hash: str
) -> User:
    user, _created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": username if "@" in username else "",
            "password": password_hash,
            "first_name": first_name,
            "last_name": last_name,
            "role": role,
        },
    )
    return user
