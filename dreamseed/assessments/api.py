"""REST API for test sessions (integrations, native apps): start, read the pending item, answer,
read the result. The same services and rules as the pages; the key is never sent."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from dreamseed.accounts.models import Role
from dreamseed.assessments import selectors
from dreamseed.assessments.models import ExamSession
from dreamseed.assessments.pools import version_for_display
from dreamseed.assessments.services import (
    SessionError,
    session_answer,
    session_refresh,
    session_start,
)
from dreamseed.itembank.kinds import response_from_form


class IsStudent(permissions.BasePermission):
    message = "Only students take tests."

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.role == Role.STUDENT


class SessionSerializer(serializers.ModelSerializer):
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    pending_item = serializers.SerializerMethodField()
    seconds_left = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    finished = serializers.BooleanField(source="is_finished", read_only=True)

    class Meta:
        model = ExamSession
        fields = [
            "id", "assignment", "attempt_number", "status", "finished", "n_items", "stop_reason",
            "started_at", "ended_at", "seconds_left", "pending_item", "score",
        ]  # fmt: skip
        read_only_fields = fields

    def get_pending_item(self, session) -> dict | None:
        if session.is_finished or session.pending_version_id is None:
            return None
        version = version_for_display(session.pending_version_id)
        return {
            "item": version.item_id,
            "version": version.number,
            "kind": version.kind,
            "stem": version.stem,
            "options": [{"key": key, "text": str(text)} for key, text in version.options_html],
        }

    def get_seconds_left(self, session) -> int | None:
        return session.seconds_left()

    def get_score(self, session) -> dict | None:
        """Only for a finished session whose results the student may see."""
        assessment = session.assignment.assessment
        if not session.is_finished or not assessment.show_results_to_students:
            return None
        return {
            "scale": assessment.scale_name,
            "score": session.score,
            "score_se": assessment.scale_se(session.standard_error),
            "theta": session.theta,
            "se": session.standard_error,
        }


class StartSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()


class AnswerSerializer(serializers.Serializer):
    """One of: `choice` (single choice, true/false), `choices` (multiple select), `order`
    (ordering: every key, in order) or `response` (numeric, short or extended text)."""

    item = serializers.IntegerField()
    choice = serializers.CharField(max_length=4, required=False)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=4), required=False, max_length=26
    )
    order = serializers.ListField(
        child=serializers.CharField(max_length=4), required=False, max_length=26
    )
    response = serializers.CharField(max_length=10_000, required=False, trim_whitespace=True)
    response_time_ms = serializers.IntegerField(required=False, min_value=0, allow_null=True)

    def validate(self, attrs):
        given = [name for name in ("choice", "choices", "order", "response") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                _("Give exactly one of choice, choices, order or response.")
            )
        attrs["answer"] = response_from_form(attrs)
        return attrs


class SessionStartView(APIView):
    permission_classes = [IsStudent]

    @extend_schema(
        request=StartSerializer,
        responses={
            201: OpenApiResponse(SessionSerializer, description=_("A new session was started.")),
            200: OpenApiResponse(
                SessionSerializer,
                description=_("The session is already running; nothing was created."),
            ),
        },
    )
    def post(self, request):
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = selectors.assignment_get_for_student(
            student=request.user, pk=data.validated_data["assignment"]
        )
        existing = ExamSession.objects.filter(assignment=assignment, student=request.user).count()
        try:
            session = session_start(assignment=assignment, student=request.user)
        except SessionError as error:
            raise ValidationError({"detail": error.messages}) from error
        except DjangoPermissionDenied as error:
            raise PermissionDenied from error
        session = session_refresh(session_id=session.pk)
        created = ExamSession.objects.filter(assignment=assignment, student=request.user).count()
        code = status.HTTP_201_CREATED if created > existing else status.HTTP_200_OK
        return Response(SessionSerializer(session).data, status=code)


class SessionDetailView(APIView):
    permission_classes = [IsStudent]

    @extend_schema(responses=SessionSerializer)
    def get(self, request, pk):
        session = selectors.session_get_for_student(student=request.user, pk=pk)
        return Response(SessionSerializer(session_refresh(session_id=session.pk)).data)


class SessionAnswerView(APIView):
    permission_classes = [IsStudent]

    @extend_schema(
        request=AnswerSerializer,
        responses={200: SessionSerializer, 409: SessionSerializer},
        description=(
            "Answer the pending item. 409 with the current state when `item` is not the pending "
            "one (a repeat of an answer already recorded, or a stale client): nothing is recorded."
        ),
    )
    def post(self, request, pk):
        session = selectors.session_get_for_student(student=request.user, pk=pk)
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            outcome = session_answer(
                session_id=session.pk,
                student=request.user,
                item_id=data.validated_data["item"],
                choice=data.validated_data["answer"],
                response_time_ms=data.validated_data.get("response_time_ms"),
            )
        except SessionError as error:
            raise ValidationError({"detail": error.messages}) from error
        current = session_refresh(session_id=session.pk)
        code = status.HTTP_409_CONFLICT if outcome.stale else status.HTTP_200_OK
        return Response(SessionSerializer(current).data, status=code)
