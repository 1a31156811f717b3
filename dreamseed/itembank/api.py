"""REST API of the item bank (/api/items/): list with filters, create, update, import.

Staff only (teachers and school admins); students and anyone else get 403. Writes go through
the same validation and services as the editor and the import page, so a bad value gets the
same message here, as a 400 body keyed by field.
"""

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from dreamseed.core.uploads import LimitedJSONParser
from dreamseed.itembank import selectors, services
from dreamseed.itembank.forms import ItemFilterForm
from dreamseed.itembank.import_export import (
    FORMAT_CSV,
    FORMAT_GIFT,
    FORMAT_JSON,
    FORMAT_MOODLE_XML,
    ItemFileError,
    import_decode,
    import_detect_format,
    import_read,
    import_upload_check,
    item_merge_values,
)
from dreamseed.itembank.kinds import ItemKind
from dreamseed.itembank.models import Item, ItemStatistics
from dreamseed.itembank.validation import item_values_clean


class IsSchoolStaff(BasePermission):
    """Teachers and school administrators of this school."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff_member)


class ItemStatisticsSerializer(serializers.ModelSerializer):
    class Meta:
        model = ItemStatistics
        fields = [
            "n_responses", "p_value", "point_biserial", "mean_response_time_ms", "n_sessions",
            "exposure_rate", "expected_p", "misfit", "computed_at",
        ]  # fmt: skip
        read_only_fields = fields


class OptionSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=4)
    text = serializers.CharField(help_text="Sanitised HTML; math as $...$ LaTeX.")


class ItemSerializer(serializers.ModelSerializer):
    """An item with its current content. Writes accept the same fields; `options` may also be
    given as `option_a` .. `option_f`, and `answer` as the flat fields of a CSV line
    (answer_value, answer_tolerance, answer_units, answer_unit_required, accepted_answers,
    case_sensitive). A 400 body names each field with its messages."""

    kind = serializers.ChoiceField(
        source="current_version.kind",
        choices=ItemKind.choices,
        help_text="How the item is answered and marked; single when left out.",
    )
    stem = serializers.CharField(source="current_version.stem")
    options = OptionSerializer(source="current_version.options", many=True)
    correct_key = serializers.CharField(
        source="current_version.correct_key",
        help_text='The key of a single-choice item, "T" or "F" for true/false, else "".',
    )
    answer = serializers.JSONField(
        source="current_version.answer",
        help_text=(
            'What marks the other kinds: {"keys": [..]} (multiple), {"order": [..]} '
            '(ordering), {"value", "tolerance", "units", "unit_required"} (numeric), '
            '{"accepted": [..], "case_sensitive"} (text), {} otherwise.'
        ),
    )
    answer_display = serializers.CharField(
        source="current_version.answer_display",
        read_only=True,
        help_text="The right answer in words, as the item page shows it.",
    )
    version = serializers.IntegerField(source="current_version.number", read_only=True)
    statistics = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id", "external_id", "status", "subject", "grade", "content_area", "standards",
            "model", "a", "b", "c", "d", "se_a", "se_b", "se_c", "version", "kind", "stem",
            "options", "correct_key", "answer", "answer_display", "statistics", "created",
            "updated",
        ]  # fmt: skip
        read_only_fields = ["id", "created", "updated"]

    def get_statistics(self, item) -> dict | None:
        try:
            statistics = item.statistics
        except ItemStatistics.DoesNotExist:
            statistics = None
        return ItemStatisticsSerializer(statistics).data if statistics else None

    def to_internal_value(self, data):
        """Validate with the bank's own rules (shared with the editor and imports)."""
        if not hasattr(data, "get"):
            raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
        raw = dict(data.items()) if hasattr(data, "items") else dict(data)
        if self.instance is not None:
            raw = item_merge_values(raw, self.instance)
        values, errors = item_values_clean(raw)
        if errors:
            raise ValidationError(errors)
        return {"values": values}

    def create(self, validated_data):
        try:
            return services.item_create(
                values=validated_data["values"], created_by=self.context["request"].user
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error

    def update(self, item, validated_data):
        try:
            services.item_update(
                item=item, values=validated_data["values"], updated_by=self.context["request"].user
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        return selectors.item_get(pk=item.pk)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False,
        help_text="A CSV, JSON, Moodle XML or GIFT file, or a QTI package (.zip) (multipart).",
    )
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="Or the file's text (JSON body)."
    )
    format = serializers.ChoiceField(
        choices=[FORMAT_CSV, FORMAT_JSON, FORMAT_MOODLE_XML, FORMAT_GIFT], required=False
    )
    dry_run = serializers.BooleanField(required=False, default=False)


FILTER_PARAMETERS = [
    OpenApiParameter(name, description=description)
    for name, description in (
        ("q", "Search in ids, question text, content areas and tags"),
        ("subject", "Exact subject"),
        ("grade", "Exact grade"),
        ("tag", "Content area or standard"),
        ("status", "draft, pilot, active or retired"),
        ("kind", "single, multiple, truefalse, numeric, text, ordering or extended"),
        ("b_min", "Lowest difficulty"),
        ("b_max", "Highest difficulty"),
        ("sort", "id, b, -b, p, n or updated"),
    )
]


@extend_schema(tags=["items"])
class ItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ItemSerializer
    permission_classes = [IsSchoolStaff]
    lookup_value_regex = r"\d+"
    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if self.action == "list":
            return selectors.item_list(filters=_api_filters(self.request.query_params))
        return selectors.item_list()

    @extend_schema(parameters=FILTER_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ImportSerializer,
        responses={200: dict, 400: dict},
        description=(
            "Import a CSV, JSON, Moodle XML or GIFT item file, or a QTI 2.1/3.0 package (.zip) "
            "as a multipart `file` (formats in IMPORT_FORMAT.md). Nothing is written "
            "unless the whole file is valid; errors name the line and column. `dry_run` only "
            "validates and reports what would change."
        ),
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request):
        form = ImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload, content = form.validated_data.get("file"), form.validated_data.get("content")
        try:
            if upload is not None:
                try:
                    import_upload_check(upload)
                except forms.ValidationError as error:
                    raise ItemFileError(" ".join(error.messages)) from error
                detected, text = import_read(upload.read(), upload.name)
                fmt = detected if isinstance(text, bytes) else form.validated_data.get("format")
                fmt = fmt or detected
            elif content:
                text = import_decode(content.encode())
                fmt = form.validated_data.get("format") or import_detect_format("", text)
            else:
                raise ValidationError({"file": [_("Send a file, or the file's text as content.")]})
            plan = services.item_import_text(
                text=text, fmt=fmt, user=request.user, dry_run=form.validated_data["dry_run"]
            )
        except ItemFileError as error:
            return Response(
                {"errors": [{"message": str(error)}]}, status=status.HTTP_400_BAD_REQUEST
            )
        if not plan.is_valid:
            return Response(
                {
                    "errors": [
                        problem.as_dict() | {"text": str(problem)} for problem in plan.problems
                    ],
                    "truncated": plan.truncated,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"dry_run": form.validated_data["dry_run"], "format": fmt, "counts": plan.counts}
        )


def _api_filters(params):
    """The list filters from query parameters; subject and grade are free text here."""
    form = ItemFilterForm(params)
    form.fields["subject"] = forms.CharField(required=False, max_length=80)
    form.fields["grade"] = forms.CharField(required=False, max_length=20)
    return form.filters()
