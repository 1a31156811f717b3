import pytest
from django.db import connection

from dreamseed.assessments.tests.factories import (
    make_assessment,
    make_assignment,
    make_bank,
    make_class,
)
from dreamseed.testing import in_schema


class World:
    """An open test in alpha: a bank, a class (alpha_teacher; sam and sara), an assignment."""

    def __init__(self, personas, **assessment_options):
        alpha = personas["alpha_admin"]
        self.school = alpha.school
        with in_schema(alpha.schema_name):
            connection.set_tenant(self.school)
            self.teacher = personas["alpha_teacher"].user
            self.students = [personas["alpha_student"].user, personas["alpha_student2"].user]
            self.items = make_bank(
                n=assessment_options.pop("bank_size", 60),
                pilots=assessment_options.pop("pilots", 0),
            )
            self.school_class = make_class(teacher=self.teacher, students=self.students)
            self.assessment = make_assessment(author=self.teacher, **assessment_options)
            self.assignment = make_assignment(
                assessment=self.assessment, school_class=self.school_class
            )


@pytest.fixture
def world(personas, db):
    return World(personas)


@pytest.fixture
def make_world(personas, db):
    def build(**options):
        return World(personas, **options)

    return build
