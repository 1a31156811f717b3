"""The OpenAPI schema: the rules the serializers enforce, and the error responses every endpoint
can give.

drf-spectacular describes only the success response of each operation. Clients (and the
property-based tests in dreamseed/api/tests/test_fuzz_schema.py) also need to know that a bad
request is a 400 with field errors, that calls without a valid token or session are refused with
a 401 (and a `WWW-Authenticate` challenge), a caller who may not with a 403, a body above the
limit with a 413, a caller over a rate limit with a 429, a database restart with a 503 (both
with `Retry-After`), and that an object which is not the caller's is a 404 -- always as JSON.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

# Operations that look up an object named in the body or the query (not only in the path).
NOT_FOUND_FROM_INPUT = {
    "sessions_create",  # `assignment`: not one of the student's assignments
    "students_list",  # `class_id`: not one of the caller's classes
}

# Success responses drf-spectacular cannot see. POST /api/sessions/ answers 200 (not 201) with
# the session already running; belongs in dreamseed/assessments/api.py as
# `responses={201: SessionSerializer, 200: SessionSerializer}` -- then drop it here.

ERROR_SCHEMAS = {
    "ErrorDetail": {
        "type": "object",
        "description": "Why the request was refused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": (
            "Messages keyed by field name (`non_field_errors` or `detail` for the request as a "
            "whole); each value is a list of messages, or an object for nested fields."
        ),
        "additionalProperties": {},
    },
}


def _error(description, component):
    return {
        "description": str(description),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


_TOO_MANY = _(
    "Over a rate limit: per API token (or signed-in user), or for the whole school. Wait the "
    "number of seconds in `Retry-After`. Limits: API_THROTTLE_TOKEN and API_THROTTLE_SCHOOL."
)
_UNAVAILABLE = _(
    "The database is restarting; nothing was changed. Send the same request again after "
    "`Retry-After` seconds."
)


def _retry_later(description):
    response = _error(description, "ErrorDetail")
    response["headers"] = {
        "Retry-After": {
            "description": str(_("Seconds to wait before trying again.")),
            "schema": {"type": "integer", "minimum": 0},
        }
    }
    return response


def document_error_responses(result, generator, request, public):
    """A drf-spectacular postprocessing hook (see dreamseed/api/urls.py)."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            parameters = operation.get("parameters", [])
            in_path = [p for p in parameters if p.get("in") == "path"]
            for parameter in in_path:
                # Django's <int:...> converter matches digits only: a negative id is no URL.
                schema = parameter.get("schema", {})
                if schema.get("type") == "integer":
                    schema.setdefault("minimum", 0)
            responses = operation.setdefault("responses", {})
            has_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in parameters
            )
            if has_input:
                responses.setdefault("400", _error(_("Invalid input."), "ValidationErrors"))
            if "requestBody" in operation:
                responses.setdefault(
                    "413",
                    _error(_("The request body is larger than the server accepts."), "ErrorDetail"),
                )
            if operation.get("security") != [] and "security" in operation:
                responses.setdefault(
                    "401",
                    _error(
                        _(
                            "No credentials, or wrong ones (a token of another school is wrong "
                            "here); the answer carries `WWW-Authenticate: Token`."
                        ),
                        "ErrorDetail",
                    ),
                )
                responses.setdefault(
                    "403", _error(_("Not allowed to use this endpoint."), "ErrorDetail")
                )
                responses.setdefault("429", _retry_later(_TOO_MANY))
            responses.setdefault("503", _retry_later(_UNAVAILABLE))
            paginated = any(p.get("name") == "page" for p in parameters)  # "Invalid page."
            if in_path or paginated or operation.get("operationId") in NOT_FOUND_FROM_INPUT:
                responses.setdefault("404", _error(_("No such object for you."), "ErrorDetail"))
    return result


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, plus what it leaves out: a list that may not be empty has
    `minItems: 1` (DRF's `allow_empty=False`, on a ListField or a many=True related field)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        lists = (serializers.ListField, serializers.ManyRelatedField)
        if isinstance(field, lists) and not field.allow_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        return schema


class BulkDeleteAutoSchema(AutoSchema):
    """Also describe the request body of a DELETE that takes one (a bulk delete, like
    `DELETE /api/classes/{class_id}/enrollments/` with `student_ids`); drf-spectacular documents
    request bodies for POST, PUT and PATCH only."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or getattr(self.view, "action", None) != "bulk_destroy":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class AnyOfSerializerExtension(OpenApiSerializerExtension):
    """A serializer standing for "one of these shapes, depending on the caller" (see
    dreamseed.api.serializers.ClassForCallerSerializer). `anyOf`, not drf-spectacular's `oneOf`:
    a staff member's class also has every field of a student's view of it."""

    target_class = "dreamseed.api.serializers.ClassForCallerSerializer"

    def map_serializer(self, auto_schema, direction):
        return {
            "anyOf": [
                auto_schema.resolve_serializer(serializer, direction).ref
                for serializer in self.target.shapes
            ]
        }
