"""Results over the API: a class's statistics and a student's results, the same numbers the class
and student pages show (computed by `dreamseed.classes.results`), read-only.

/api/classes/{class_id}/statistics/  staff who may see the class (a teacher's own, an admin's any)
/api/students/{student_id}/results/  staff who may see the student; a student for themselves only
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dreamseed.accounts.models import Role
from dreamseed.api.permissions import IsSchoolStaff
from dreamseed.assessments.models import ExamSession
from dreamseed.classes import results, selectors


class BandCountSerializer(serializers.Serializer):
    band = serializers.CharField(help_text="well_below, below, middle, above or well_above.")
    label = serializers.CharField()
    students = serializers.IntegerField()


class ClassResultsSummarySerializer(serializers.Serializer):
    student_count = serializers.IntegerField()
    tests_assigned = serializers.IntegerField(help_text="Assignments already open.")
    sittings_expected = serializers.IntegerField(
        source="pairs", help_text="Students enrolled now × tests already open."
    )
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    not_started = serializers.IntegerField()
    students_with_results = serializers.IntegerField()
    mean_theta = serializers.FloatField(allow_null=True)
    median_theta = serializers.FloatField(allow_null=True)
    mean_se = serializers.FloatField(allow_null=True)
    scale_name = serializers.CharField(
        allow_blank=True, help_text="Set when every latest result shares one reporting scale."
    )
    mean_score = serializers.FloatField(allow_null=True)
    median_score = serializers.FloatField(allow_null=True)
    mean_scale_se = serializers.FloatField(allow_null=True)
    bands = serializers.SerializerMethodField()
    growth_students = serializers.IntegerField(source="growth_count")
    mean_change = serializers.FloatField(allow_null=True)
    grew = serializers.IntegerField(help_text="Grew by more than the measurement error.")
    declined = serializers.IntegerField(help_text="Fell by more than the measurement error.")
    latest_test = serializers.CharField(allow_blank=True)
    latest_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=BandCountSerializer(many=True))
    def get_bands(self, summary) -> list[dict]:
        return [
            {"band": key, "label": label, "students": count} for key, label, count in summary.bands
        ]

    def to_representation(self, summary):
        data = super().to_representation(summary)
        if not summary.one_scale:  # scores on different scales are not averaged
            data.update(scale_name="", mean_score=None, median_score=None, mean_scale_se=None)
        return data


class ClassTestSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    assessment_name = serializers.CharField()
    scale_name = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    sittings_expected = serializers.IntegerField(source="pairs")
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    not_started = serializers.IntegerField()
    mean_score = serializers.FloatField(allow_null=True)
    median_score = serializers.FloatField(allow_null=True)
    mean_scale_se = serializers.FloatField(allow_null=True)
    mean_theta = serializers.FloatField(allow_null=True)


class AreaSerializer(serializers.Serializer):
    area = serializers.CharField()
    answers = serializers.IntegerField()
    correct = serializers.IntegerField()
    expected_correct = serializers.FloatField(source="expected")
    difference = serializers.FloatField(
        help_text="Percentage points above (+) or below (-) the calibration's expectation."
    )
    strength = serializers.CharField(allow_blank=True, help_text='"strong", "weak" or "".')


class ClassStudentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="student_id")
    username = serializers.CharField()
    name = serializers.CharField()
    finished = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    latest_test = serializers.CharField(allow_blank=True)
    latest_at = serializers.DateTimeField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    score_se = serializers.FloatField(source="scale_se", allow_null=True)
    theta = serializers.FloatField(allow_null=True)
    se = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True, help_text="1 = highest latest theta.")
    change = serializers.FloatField(allow_null=True)
    reliable_change = serializers.BooleanField(source="reliable", allow_null=True)
    weakest_area = serializers.SerializerMethodField()

    def get_weakest_area(self, student) -> str | None:
        weakest = student.weakest
        return weakest.area if weakest else None


class ClassStatisticsSerializer(serializers.Serializer):
    class_id = serializers.IntegerField()
    summary = ClassResultsSummarySerializer()
    tests = ClassTestSerializer(many=True)
    content_areas = AreaSerializer(many=True)
    students = ClassStudentSerializer(many=True)


class ClassStatisticsView(APIView):
    """A class's results: the summary, each test, content areas and each student."""

    permission_classes = [IsSchoolStaff]
    serializer_class = ClassStatisticsSerializer

    @extend_schema(
        summary="A class's results and statistics",
        description=(
            "Counts are over students enrolled now and tests already open; scores are each "
            "student's latest finished result. Growth: first to latest sitting on the same "
            "scale; reliable when |change| > 1.96 × sqrt(se1² + se2²)."
        ),
        responses=ClassStatisticsSerializer,
        tags=["results"],
    )
    def get(self, request, class_id: int):
        school_class = selectors.class_get_for_staff(user=request.user, pk=class_id)
        students = results.class_student_results(school_class=school_class)
        data = {
            "class_id": school_class.pk,
            "summary": results.class_summary(school_class=school_class),
            "tests": results.class_tests(school_class=school_class),
            "content_areas": results.area_totals({s.student_id: s.areas for s in students}),
            "students": students,
        }
        return Response(ClassStatisticsSerializer(data).data)


class SittingSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="session.pk")
    assessment_name = serializers.CharField(source="session.assignment.assessment.name")
    class_name = serializers.CharField(source="session.assignment.school_class.name")
    attempt_number = serializers.IntegerField(source="session.attempt_number")
    status = serializers.CharField(source="session.status")
    started_at = serializers.DateTimeField(source="session.started_at")
    ended_at = serializers.DateTimeField(source="session.ended_at", allow_null=True)
    items = serializers.IntegerField(source="session.n_items")
    scale_name = serializers.CharField(source="session.assignment.assessment.scale_name")
    score = serializers.SerializerMethodField()
    score_se = serializers.SerializerMethodField()
    theta = serializers.SerializerMethodField()
    se = serializers.SerializerMethodField()
    change = serializers.FloatField(allow_null=True)
    reliable_change = serializers.BooleanField(source="reliable", allow_null=True)
    result_visible = serializers.BooleanField(
        source="visible", help_text="False: the teacher has not shared this result with you."
    )

    def _if_visible(self, sitting, value):
        return value if sitting.visible else None

    def get_score(self, sitting) -> float | None:
        return self._if_visible(sitting, sitting.session.score)

    def get_score_se(self, sitting) -> float | None:
        return self._if_visible(sitting, sitting.scale_se)

    def get_theta(self, sitting) -> float | None:
        return self._if_visible(sitting, sitting.session.theta)

    def get_se(self, sitting) -> float | None:
        return self._if_visible(sitting, sitting.session.standard_error)


class GrowthSerializer(serializers.Serializer):
    scale_name = serializers.CharField()
    sittings = serializers.SerializerMethodField()
    change = serializers.FloatField(allow_null=True, help_text="First to latest sitting.")
    reliable_change = serializers.BooleanField(source="reliable", allow_null=True)

    def get_sittings(self, series) -> list[int]:
        return [sitting.session.pk for sitting in series.sittings]


class StudentResultsSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    sittings = SittingSerializer(many=True)
    growth = GrowthSerializer(many=True)
    content_areas = AreaSerializer(many=True)


class StudentResultsView(APIView):
    """A student's sittings (newest first), growth per scale and content areas."""

    permission_classes = [IsAuthenticated]
    serializer_class = StudentResultsSerializer

    @extend_schema(
        summary="A student's results",
        description=(
            "Staff: sittings in the classes they may see (a teacher's own classes, an admin's "
            "all). A student: only their own id, and only the results their teachers share; "
            "content areas are for staff."
        ),
        responses=StudentResultsSerializer,
        tags=["results"],
    )
    def get(self, request, student_id: int):
        user = request.user
        if user.role == Role.STUDENT:
            if student_id != user.pk:
                raise _not_found()
            sessions = ExamSession.objects.filter(student=user).select_related(
                "assignment__assessment", "assignment__school_class"
            )
            sittings, growth = results.student_history(sessions=sessions, for_student=True)
            areas = []
        elif user.role in (Role.ADMIN, Role.TEACHER):
            student = selectors.student_get_for_staff(user=user, pk=student_id)
            sessions = selectors.student_sessions_for_staff(user=user, student=student)
            sittings, growth = results.student_history(sessions=sessions)
            classes = selectors.class_list_for(user=user, include_archived=True)
            class_ids = classes.filter(enrollments__student=student).values_list("pk", flat=True)
            areas = results.student_areas(class_ids=class_ids, student_ids=[student.pk]).get(
                student.pk, []
            )
        else:
            raise _not_found()
        data = {
            "student_id": student_id,
            "sittings": sittings,
            "growth": growth,
            "content_areas": areas,
        }
        return Response(StudentResultsSerializer(data).data)


def _not_found():
    from rest_framework.exceptions import NotFound

    return NotFound()
