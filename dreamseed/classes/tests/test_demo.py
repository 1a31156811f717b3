"""The demo school gets two classes per teacher, each with every demo student; seeding twice
changes nothing."""

from dreamseed.classes.models import Class, Enrollment, StudentProfile
from dreamseed.schools.demo import demo_seed
from dreamseed.testing import in_schema


def _snapshot():
    with in_schema("demo"):
        return (
            sorted(
                (c.name, c.teachers.get().username, c.enrollments.count())
                for c in Class.objects.prefetch_related("teachers")
            ),
            Enrollment.objects.count(),
            StudentProfile.objects.count(),
        )


def test_demo_classes_are_seeded_once(db, personas):
    demo_seed(students=6)
    classes, enrollments, profiles = _snapshot()
    assert classes == [
        ("Math 5A", "teacher1@demo.example", 6),
        ("Reading 5A", "teacher2@demo.example", 6),
        ("Science 5A", "teacher1@demo.example", 6),
        ("Social Studies 5A", "teacher2@demo.example", 6),
    ]
    assert (enrollments, profiles) == (24, 6)
    demo_seed(students=6)
    assert _snapshot() == (classes, enrollments, profiles)
