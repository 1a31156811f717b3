"""API representations. Serializers validate input and shape output; writes go through the apps'
services, so the API and the pages follow the same rules."""

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from dreamseed.accounts.models import STAFF_ROLES, Role, User
from dreamseed.classes.forms import StudentAddForm
from dreamseed.classes.models import Class, Enrollment

MAX_BULK_STUDENTS = 1000


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


@extend_schema_field(
    {"type": "string", "anyOf": [{"format": "email"}, {"maxLength": 0}]},
)
class OptionalEmailField(serializers.CharField):
    """An email address, or "" for someone who has none (students often have none)."""


def _grade(user) -> str:
    profile = getattr(user, "student_profile", None)
    return profile.grade if profile else ""


class StudentSerializer(serializers.ModelSerializer):
    email = OptionalEmailField(read_only=True, help_text=_("Empty when the student has none."))
    grade = serializers.SerializerMethodField()
    has_password = serializers.SerializerMethodField(
        help_text="False until a teacher prints a sign-in slip for an imported student."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "grade",
            "is_active",
            "last_login",
            "has_password",
        ]
        read_only_fields = fields

    def get_grade(self, user) -> str:
        return _grade(user)

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()


class FormRuleField(serializers.CharField):
    """A string whose rules belong to a field of a Django form (see `FormRulesSerializer`).

    Here only its type is checked. The form field's validators are listed so that the schema
    shows its length and pattern, but the form runs them, with its own messages.
    """

    def __init__(self, form_field, **kwargs):
        super().__init__(
            required=form_field.required,
            allow_blank=True,
            help_text=form_field.help_text or None,
            **kwargs,
        )
        self.validators = list(form_field.validators)

    def validate_empty_values(self, data):
        # Missing or null is the empty string: whether that is allowed, and the message if it
        # is not, are the form's to say.
        if data is empty or data is None:
            return (True, "")
        return super().validate_empty_values(data)

    def run_validators(self, value):
        """Leave them to the form, so the messages are the page's and the import's."""


class FormRulesSerializer(serializers.Serializer):
    """A serializer whose string fields and rules are a Django form's: the page, the file import
    and the API refuse the same values with the same messages."""

    form_class: type[forms.Form]

    def get_fields(self):
        fields = {name: FormRuleField(field) for name, field in self.form_class.base_fields.items()}
        return fields | super().get_fields()

    def validate(self, attrs):
        form = self.form_class(
            data={name: attrs.get(name, "") for name in self.form_class.base_fields}
        )
        if not form.is_valid():
            raise serializers.ValidationError(
                {name: list(messages) for name, messages in form.errors.items()}
            )
        return attrs | form.cleaned_data


class StudentCreateSerializer(FormRulesSerializer):
    """A new student. Give a username or an email address (or both): without a username, the
    email address is the username."""

    form_class = StudentAddForm
    class_id = serializers.IntegerField(
        required=False, help_text="Enroll the new student in this class (one of yours)."
    )


class CreatedStudentSerializer(StudentSerializer):
    initial_password = serializers.CharField(
        read_only=True, help_text="Shown once: print it on the student's sign-in slip."
    )

    class Meta(StudentSerializer.Meta):
        fields = [*StudentSerializer.Meta.fields, "initial_password"]
        read_only_fields = fields


class ClassSerializer(serializers.ModelSerializer):
    teachers = serializers.SerializerMethodField()
    teacher_ids = serializers.PrimaryKeyRelatedField(
        many=True,
        write_only=True,
        required=False,
        allow_empty=False,
        queryset=User.objects.filter(role__in=STAFF_ROLES, is_active=True),
        help_text="Teachers (and co-teachers). Defaults to you when you create a class.",
        error_messages={"empty": _("A class needs at least one teacher.")},
    )
    student_count = serializers.IntegerField(read_only=True)
    archived = serializers.SerializerMethodField()

    class Meta:
        model = Class
        fields = [
            "id",
            "name",
            "subject",
            "grade",
            "join_code",
            "archived",
            "archived_at",
            "teachers",
            "teacher_ids",
            "student_count",
            "created",
        ]
        read_only_fields = ["join_code", "archived_at", "created"]

    def get_teachers(self, school_class) -> list[dict]:
        links = school_class.teacher_links.all()
        return PersonSerializer([link.teacher for link in links], many=True).data

    def get_archived(self, school_class) -> bool:
        return school_class.is_archived


class StudentClassSerializer(serializers.ModelSerializer):
    """What a student sees of their own class."""

    teachers = serializers.SerializerMethodField()

    class Meta:
        model = Class
        fields = ["id", "name", "subject", "grade", "teachers"]
        read_only_fields = fields

    def get_teachers(self, school_class) -> list[dict]:
        links = school_class.teacher_links.all()
        return PersonSerializer([link.teacher for link in links], many=True).data


class ClassForCallerSerializer(serializers.Serializer):
    """For the schema only: what a class looks like to staff, or to a student
    (dreamseed.api.schema.AnyOfSerializerExtension documents it as anyOf the two)."""

    shapes = [ClassSerializer, StudentClassSerializer]


class EnrollmentSerializer(serializers.ModelSerializer):
    student = StudentSerializer(read_only=True)

    class Meta:
        model = Enrollment
        fields = ["student", "created"]
        read_only_fields = fields


class StudentIdsSerializer(serializers.Serializer):
    student_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=MAX_BULK_STUDENTS,
        help_text="Ids of students of this school.",
    )

    def validate_student_ids(self, ids):
        ids = list(dict.fromkeys(ids))
        students = list(User.objects.filter(pk__in=ids, role=Role.STUDENT, is_active=True))
        unknown = sorted(set(ids) - {student.pk for student in students})
        if unknown:
            raise serializers.ValidationError(
                _("These ids are not active students of this school: %(ids)s.")
                % {"ids": ", ".join(map(str, unknown))}
            )
        self.context["students"] = students
        return ids


class BulkResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many enrollments were added or removed.")


class StaffTokenSerializer(serializers.Serializer):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    token = serializers.CharField(read_only=True)

    def validate(self, attrs):
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"].strip().lower(),
            password=attrs["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                _("Unable to sign in with that username and password."), code="authorization"
            )
        if user.role not in STAFF_ROLES:
            raise serializers.ValidationError(
                _("API tokens are for teachers and school administrators."), code="authorization"
            )
        attrs["user"] = user
        return attrs
