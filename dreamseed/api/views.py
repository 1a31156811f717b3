"""The school's REST API: classes, enrollments and students, scoped to the caller's school (by host
and schema) and role (through the same selectors as the pages).

Anything that is not the caller's looks like it does not exist (404); a student calling a staff
endpoint gets 403. Errors from services become 400s with field errors, never 500s.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from dreamseed.accounts.models import Role, User
from dreamseed.accounts.selectors import students_matching
from dreamseed.api.permissions import IsSchoolStaff, IsSchoolStaffOrStudentReading
from dreamseed.api.schema import BulkDeleteAutoSchema
from dreamseed.api.serializers import (
    BulkResultSerializer,
    ClassForCallerSerializer,
    ClassSerializer,
    CreatedStudentSerializer,
    EnrollmentSerializer,
    StaffTokenSerializer,
    StudentClassSerializer,
    StudentCreateSerializer,
    StudentIdsSerializer,
    StudentSerializer,
)
from dreamseed.classes import selectors, services
from dreamseed.classes.models import Class, Enrollment


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI under the site's CSP: its script comes from `?script` (no inline <script>) and
    its few page styles from a static file (no inline <style>)."""

    template_name = "api/swagger_ui.html"


def _boolean_param(request, name: str) -> bool:
    """A boolean query parameter as the schema states it: true/false or 1/0; absent or empty is
    false; anything else (null, yes, 2) is a 400 naming the parameter."""
    value = request.query_params.get(name, "")
    if value in ("", "0", "false", "False"):
        return False
    if value in ("1", "true", "True"):
        return True
    raise serializers.ValidationError({name: [_("Use true or false.")]})


def _service_errors(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.as_serializer_error(error))


class StaffTokenView(APIView):
    """Exchange a staff member's username and password for an API token of this school.

    Send it as `Authorization: Token <key>`. Tokens live in the school's own schema, so a token
    from one school means nothing at another.
    """

    authentication_classes = ()
    permission_classes = ()
    serializer_class = StaffTokenSerializer

    @extend_schema(
        request=StaffTokenSerializer, responses=StaffTokenSerializer, auth=[], tags=["auth"]
    )
    def post(self, request):
        serializer = StaffTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


@extend_schema_view(
    list=extend_schema(
        summary="Classes you may see",
        description=(
            "Admins: every class of the school. Teachers: classes they teach. Students: the "
            "active classes they are enrolled in (fewer fields)."
        ),
        responses=ClassForCallerSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "archived",
                OpenApiTypes.BOOL,
                description=(
                    "Staff: `true` lists archived classes instead. `true` or `false` (or 1, 0); "
                    "anything else, null included, is a 400."
                ),
            )
        ],
    ),
    retrieve=extend_schema(summary="One class", responses=ClassForCallerSerializer),
    create=extend_schema(summary="Create a class"),
    partial_update=extend_schema(summary="Change a class"),
    update=extend_schema(summary="Replace a class's details"),
)
class ClassViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsSchoolStaffOrStudentReading]
    serializer_class = ClassSerializer
    queryset = Class.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, without a request
            return Class.objects.none()
        user = self.request.user
        if user.role == Role.STUDENT:
            return selectors.class_list_for(user=user).order_by("name", "pk")
        if self.action == "list":
            archived = _boolean_param(self.request, "archived")
            classes = selectors.class_list_for(user=user, include_archived=archived)
            if archived:
                classes = classes.filter(archived_at__isnull=False)
            return classes.order_by("name", "pk")
        return selectors.class_list_for(user=user, include_archived=True).order_by("name", "pk")

    def get_serializer_class(self):
        if getattr(self.request.user, "role", None) == Role.STUDENT:
            return StudentClassSerializer
        return ClassSerializer

    def _reloaded(self, school_class):
        return self.get_queryset().get(pk=school_class.pk)

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            school_class = services.class_create(
                name=data["name"],
                subject=data.get("subject", ""),
                grade=data.get("grade", ""),
                teachers=data.get("teacher_ids") or [self.request.user],
                created_by=self.request.user,
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        serializer.instance = self._reloaded(school_class)

    def perform_update(self, serializer):
        school_class = serializer.instance
        data = serializer.validated_data
        try:
            services.class_update(
                school_class=school_class,
                name=data.get("name", school_class.name),
                subject=data.get("subject", school_class.subject),
                grade=data.get("grade", school_class.grade),
                teachers=data.get("teacher_ids"),
            )
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        serializer.instance = self._reloaded(school_class)

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        # A teacher who removed themselves can no longer see the class: say so plainly.
        if not self.get_queryset().filter(pk=kwargs["pk"]).exists():
            return Response(status=status.HTTP_204_NO_CONTENT)
        return response

    def _class_action(self, request, change):
        school_class = self.get_object()
        change(school_class)
        return Response(self.get_serializer(self._reloaded(school_class)).data)

    @extend_schema(request=None, summary="Archive a class (its join code stops working)")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._class_action(
            request, lambda school_class: services.class_archive(school_class=school_class)
        )

    @extend_schema(request=None, summary="Restore an archived class")
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        return self._class_action(
            request, lambda school_class: services.class_restore(school_class=school_class)
        )

    @extend_schema(request=None, summary="Give the class a new join code")
    @action(detail=True, methods=["post"], url_path="join-code")
    def join_code(self, request, pk=None):
        return self._class_action(
            request,
            lambda school_class: services.class_join_code_regenerate(school_class=school_class),
        )


@extend_schema(tags=["enrollments"])
@extend_schema_view(
    list=extend_schema(summary="Students enrolled in the class"),
    create=extend_schema(
        summary="Enroll students (bulk)",
        request=StudentIdsSerializer,
        responses={201: BulkResultSerializer},
    ),
    destroy=extend_schema(summary="Unenroll one student", responses={204: None}),
)
class EnrollmentViewSet(viewsets.GenericViewSet):
    """/api/classes/{class_id}/enrollments/: who is in a class, and bulk changes to it."""

    permission_classes = [IsSchoolStaff]
    serializer_class = EnrollmentSerializer
    queryset = Enrollment.objects.none()
    schema = BulkDeleteAutoSchema()

    def get_class(self) -> Class:
        return selectors.class_get_for_staff(user=self.request.user, pk=self.kwargs["class_id"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Enrollment.objects.none()
        return selectors.class_roster(school_class=self.get_class())

    def get_serializer_class(self):
        if self.action in ("create", "bulk_destroy"):
            return StudentIdsSerializer
        return EnrollmentSerializer

    def list(self, request, class_id=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EnrollmentSerializer(page, many=True).data)

    def _students(self, request):
        serializer = StudentIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.context["students"]

    def create(self, request, class_id=None):
        school_class = self.get_class()
        students = self._students(request)
        try:
            added = services.class_enroll_students(school_class=school_class, students=students)
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        return Response({"count": added}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Unenroll students (bulk)",
        operation_id="classes_enrollments_bulk_destroy",
        request=StudentIdsSerializer,
        responses={200: BulkResultSerializer},
    )
    def bulk_destroy(self, request, class_id=None):
        school_class = self.get_class()
        students = self._students(request)
        removed = services.class_unenroll_students(school_class=school_class, students=students)
        return Response({"count": removed})

    def destroy(self, request, class_id=None, student_id=None):
        school_class = self.get_class()
        enrollment = get_object_or_404(Enrollment, school_class=school_class, student_id=student_id)
        services.class_unenroll_students(
            school_class=school_class, students=[enrollment.student_id]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["students"])
@extend_schema_view(
    list=extend_schema(
        summary="Students you may see",
        description="Admins: every student of the school. Teachers: students in their classes.",
        parameters=[
            OpenApiParameter("class_id", OpenApiTypes.INT, description="Only this class."),
            OpenApiParameter("search", OpenApiTypes.STR, description="Name, username or email."),
        ],
    ),
    create=extend_schema(
        summary="Create a student (and enroll them)",
        request=StudentCreateSerializer,
        responses={201: CreatedStudentSerializer},
    ),
)
class StudentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsSchoolStaff]
    serializer_class = StudentSerializer
    queryset = User.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        students = selectors.students_for_staff(user=self.request.user).select_related(
            "student_profile"
        )
        params = self.request.query_params
        if params.get("class_id"):
            try:
                class_id = int(params["class_id"])
            except ValueError:
                raise serializers.ValidationError(
                    {"class_id": _("A number is required.")}
                ) from None
            school_class = selectors.class_get_for_staff(user=self.request.user, pk=class_id)
            students = students.filter(enrollments__school_class=school_class)
        return students_matching(students, params.get("search", ""))

    def create(self, request):
        serializer = StudentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        class_id = data.pop("class_id", None)
        school_class = None
        if class_id is not None:
            school_class = selectors.class_list_for(user=request.user).filter(pk=class_id).first()
            if school_class is None:
                raise serializers.ValidationError({"class_id": _("Not one of your classes.")})
        try:
            credential = services.student_create(**data, school_class=school_class)
        except DjangoValidationError as error:
            raise _service_errors(error) from error
        student = credential.student
        student.initial_password = credential.password
        return Response(CreatedStudentSerializer(student).data, status=status.HTTP_201_CREATED)
