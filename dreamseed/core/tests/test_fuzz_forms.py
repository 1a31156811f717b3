"""Property-based tests of every form of the site: whatever is typed or posted, a form answers
with field errors (never an exception), and the page that uses it answers with a form showing
them, a redirect or a refusal -- never a 500.

Each target names a form, how to build it, what to post for each of its fields (odd text,
unicode, NUL bytes, huge and negative numbers, malformed dates, JSON-ish strings, sometimes a
real id), who posts it and where.
"""

import os
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamseed.testing import in_schema

# More examples (and a random seed) for a longer hunt: FUZZ_EXAMPLES=500 pytest ...
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 0)) or None

ODD_STRINGS = [
    "", " ", "\x00", "a\x00b", "\t\r\n", "-1", "0", "-0", "1", "3.5", "1e309", "-1e309", "1e-400",
    "nan", "NaN", "inf", "-Infinity", "9" * 400, "99999999999999999999", "-99999999999999999999",
    "2147483648", "-2147483649", "9223372036854775808", "0x1f", "1_000", "١٢٣", "²", "½", "Ⅻ",
    "2024-02-30", "2024-13-01T25:61", "0000-00-00T00:00", "9999-12-31T23:59", "1-1-1T1:1",
    "2024-06-01T10:00", "2024-06-01 10:00:00+99:00", '{"a": 1}', "[1, 2]", "null", "true",
    "<script>alert(1)</script>", "' OR 1=1 --", "\u202e\u0301\u200b", "😀" * 3, "%s %(x)s {0}",
    "../../etc/passwd", "https://", "http://[::1", "javascript:alert(1)", "a" * 5000,
    "a@b", "x@example.com", "Algebra: 60\nFractions: 40", "A: 100%", "é" * 300,
    "[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000,
]  # fmt: skip
# JSON nested a thousand levels in 2 KB (Python's parser would raise RecursionError), and JSON
# larger than an upload's limit.
DEEP_JSON = ("[" * 1000 + "]" * 1000).encode()
DEEP_JSON_OBJECT = ('{"items": [' + '{"a":' * 1000 + "1" + "}" * 1000 + "]}").encode()

texts = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=300),
    st.integers().map(str),
    st.floats().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
numbers = st.one_of(
    st.sampled_from(ODD_STRINGS), st.integers().map(str), st.floats().map(str), texts
)


def ids(*real):
    """Text that is sometimes one of the real ids (as posted: a string)."""
    return st.one_of(texts, st.sampled_from([str(value) for value in real]))


def many(values):
    return st.lists(values, max_size=4)


def csv_files():
    header = st.sampled_from(
        [
            "first_name,last_name,username,email,grade,class",
            "external_id,stem,option_a,option_b,correct_key,model,a,b,c,d,status",
            "",
            "\ufefffirst_name;last_name",
        ]
    )
    rows = st.lists(st.lists(texts, max_size=7).map(",".join), max_size=5).map("\n".join)
    text_body = st.tuples(header, rows).map(lambda parts: "\n".join(parts))
    return st.one_of(
        text_body.map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.binary(max_size=500),
        texts.map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [b"", b"\xff\xfe\x00", b'[{"stem": 1}]', b'{"items": null}', b"[]", DEEP_JSON]
        ),
        st.just(DEEP_JSON_OBJECT),
    )


@dataclass
class Target:
    form: Callable[..., Any]  # (data, files, ctx) -> form
    fields: Callable[[dict], dict]  # ctx -> {field name: strategy}
    url: Callable[[dict], str] | None = None  # ctx -> where the page posts (None: form only)
    who: str | None = None  # persona key; None: anonymous
    public: bool = False  # on the public site (signup, find school) instead of a school's
    files: Callable[[dict], dict] = lambda ctx: {}
    method: str = "post"
    before_post: Callable[[dict], dict] = lambda data: data


def _signup_form(data, files, ctx):
    from dreamseed.schools.forms import SchoolSignupForm

    return SchoolSignupForm(data)


def _never_a_valid_signup(data):
    # A valid signup would create a whole school schema: keep the page on its error path.
    data = dict(data)
    data["password2"] = f"{data.get('password2', '')}-differs"
    return data


def _login_form(data, files, ctx):
    from django.test import RequestFactory

    from dreamseed.accounts.forms import LoginForm

    # django-axes, the authentication backend, needs the request.
    request = RequestFactory().post("/accounts/login/", HTTP_HOST="alpha.localhost")
    return LoginForm(request, data)


def _form(path, **kwargs):
    """A builder for the form class at `path`, with keyword arguments computed from ctx."""

    def build(data, files, ctx):
        module, name = path.rsplit(".", 1)
        form_class = getattr(__import__(module, fromlist=[name]), name)
        extra = {key: value(ctx) if callable(value) else value for key, value in kwargs.items()}
        return form_class(data, files, **extra) if files else form_class(data, **extra)

    return build


def _students(ctx):
    from dreamseed.accounts.models import Role, User

    return User.objects.filter(role=Role.STUDENT)


def _classes(ctx):
    from dreamseed.classes.models import Class

    return Class.objects.all()


def _assessments(ctx):
    from dreamseed.assessments.models import Assessment

    return Assessment.objects.all()


def _item(ctx):
    from dreamseed.itembank.models import Item

    return Item.objects.get(pk=ctx["item"])


ITEM_FIELDS = [
    "external_id", "stem", "correct_key", "status", "subject", "grade", "content_area",
    "standards", "model", "a", "b", "c", "d", "option_a", "option_b", "option_c", "option_d",
    "option_e", "option_f",
]  # fmt: skip
ITEM_CHOICES = {
    "correct_key": ["A", "B", "C", "D", "E", "F"],
    "status": ["draft", "pilot", "active", "retired"],
    "model": ["1PL", "2PL", "3PL", "4PL", "Rasch"],
}


def _item_fields(ctx):
    return {
        name: st.one_of(texts, st.sampled_from(ITEM_CHOICES[name]))
        if name in ITEM_CHOICES
        else texts
        for name in ITEM_FIELDS
    }


ASSESSMENT_FIELDS = [
    "name", "instructions", "subject", "grade", "irt_model", "b_min", "b_max", "estimator",
    "min_items", "max_items", "se_target", "exposure_control", "randomesque_k",
    "time_limit_minutes", "pilot_rate", "scale_name", "scale_intercept", "scale_slope",
    "show_results_to_students", "content_targets_text",
]  # fmt: skip


def _assessment_fields(ctx):
    fields = {name: numbers for name in ASSESSMENT_FIELDS}
    fields["content_areas"] = many(st.one_of(texts, st.sampled_from(["Fractions", "Algebra"])))
    fields["content_targets_text"] = st.one_of(
        texts,
        st.lists(
            st.tuples(st.sampled_from(["Fractions", "Algebra", "x", ""]), numbers).map(
                lambda pair: f"{pair[0]}: {pair[1]}"
            ),
            max_size=3,
        ).map("\n".join),
    )
    return fields


def _window_fields(ctx):
    dates = st.one_of(texts, st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")))
    return {"opens_at": dates, "closes_at": dates, "attempts_allowed": numbers}


PLATFORM_TEXT_FIELDS = [
    "name", "issuer", "client_id", "deployment_ids", "auth_login_url", "auth_token_url",
    "key_set_url", "auth_audience", "frame_origins",
]  # fmt: skip


def _class_fields(ctx):
    """The class form's fields, for creating and for editing a class."""
    return {
        "name": texts,
        "subject": texts,
        "grade": texts,
        "teachers": many(ids(ctx["teacher"], ctx["student"])),
    }


TARGETS = {
    "login": Target(
        form=_login_form,
        fields=lambda ctx: {"username": st.one_of(texts, st.just("sam")), "password": texts},
        url=lambda ctx: "/accounts/login/",
    ),
    "staff_add": Target(
        form=_form("dreamseed.accounts.forms.StaffAddForm"),
        fields=lambda ctx: {
            "first_name": texts,
            "last_name": texts,
            "email": st.one_of(texts, st.emails()),
            "role": st.one_of(texts, st.sampled_from(["teacher", "admin", "student"])),
        },
        url=lambda ctx: "/accounts/staff/",
        who="alpha_admin",
    ),
    "signup": Target(
        form=_signup_form,
        fields=lambda ctx: (
            {
                name: texts
                for name in ("name", "subdomain", "first_name", "last_name", "email", "password1")
            }
            | {"password2": texts}
        ),
        url=lambda ctx: "/signup/",
        public=True,
        before_post=_never_a_valid_signup,
    ),
    "find_school": Target(
        form=_form("dreamseed.schools.forms.FindSchoolForm"),
        fields=lambda ctx: {"subdomain": st.one_of(texts, st.just("alpha"))},
        url=lambda ctx: "/find/",
        public=True,
    ),
    "class_create": Target(
        form=_form("dreamseed.classes.forms.ClassForm"),
        fields=_class_fields,
        url=lambda ctx: "/classes/new/",
        who="alpha_teacher",
    ),
    "class_edit": Target(
        form=_form("dreamseed.classes.forms.ClassForm"),
        fields=_class_fields,
        url=lambda ctx: f"/classes/{ctx['class']}/edit/",
        who="alpha_teacher",
    ),
    "class_join": Target(
        form=_form("dreamseed.classes.forms.JoinClassForm"),
        fields=lambda ctx: {"code": st.one_of(texts, st.just(ctx["join_code"]))},
        url=lambda ctx: "/classes/join/",
        who="alpha_student",
    ),
    "student_add": Target(
        form=_form("dreamseed.classes.forms.StudentAddForm"),
        fields=lambda ctx: {
            "first_name": texts,
            "last_name": texts,
            "username": texts,
            "email": st.one_of(texts, st.emails()),
            "grade": texts,
        },
        url=lambda ctx: f"/classes/{ctx['class']}/students/new/",
        who="alpha_teacher",
    ),
    "roster_import": Target(
        form=_form("dreamseed.classes.forms.RosterUploadForm"),
        fields=lambda ctx: {},
        files=lambda ctx: {"file": csv_files()},
        url=lambda ctx: f"/classes/{ctx['class']}/import/",
        who="alpha_teacher",
    ),
    "enroll": Target(
        form=_form("dreamseed.classes.forms.StudentSelectionForm", students=_students),
        fields=lambda ctx: {"students": many(ids(ctx["student"], ctx["teacher"]))},
        url=lambda ctx: f"/classes/{ctx['class']}/enroll/",
        who="alpha_teacher",
    ),
    "unenroll": Target(
        form=_form("dreamseed.classes.forms.StudentSelectionForm", students=_students),
        fields=lambda ctx: {"students": many(ids(ctx["student"], ctx["teacher"]))},
        url=lambda ctx: f"/classes/{ctx['class']}/unenroll/",
        who="alpha_teacher",
    ),
    "item_create": Target(
        form=_form("dreamseed.itembank.forms.ItemForm"),
        fields=_item_fields,
        url=lambda ctx: "/items/new/",
        who="alpha_teacher",
    ),
    "item_edit": Target(
        form=_form("dreamseed.itembank.forms.ItemForm", item=_item),
        fields=_item_fields,
        url=lambda ctx: f"/items/{ctx['item']}/edit/",
        who="alpha_teacher",
    ),
    "item_filter": Target(
        form=_form("dreamseed.itembank.forms.ItemFilterForm"),
        fields=lambda ctx: {
            "q": texts,
            "subject": texts,
            "grade": texts,
            "tag": texts,
            "status": texts,
            "b_min": numbers,
            "b_max": numbers,
            "sort": st.one_of(texts, st.sampled_from(["id", "b", "-b", "p", "n", "updated"])),
            "page": numbers,
        },
        url=lambda ctx: "/items/",
        who="alpha_teacher",
        method="get",
    ),
    "item_import": Target(
        form=_form("dreamseed.itembank.forms.ImportUploadForm"),
        fields=lambda ctx: {},
        files=lambda ctx: {"file": csv_files()},
        url=lambda ctx: "/items/import/",
        who="alpha_teacher",
    ),
    "calibration": Target(
        form=_form("dreamseed.itembank.forms.CalibrationForm"),
        fields=lambda ctx: {
            "model": st.one_of(texts, st.sampled_from(["1PL", "2PL", "3PL"])),
            "min_responses": numbers,
            "kind": st.one_of(texts, st.sampled_from(["pilot", "selected"])),
            "scope": st.one_of(texts, st.just("filtered")),
            "items": many(ids(ctx["item"])),
            "b_min": numbers,
            "sort": texts,
        },
        url=lambda ctx: "/items/calibrations/new/",
        who="alpha_teacher",
    ),
    "calibration_accept": Target(
        form=_form("dreamseed.itembank.forms.AcceptForm"),
        fields=lambda ctx: {"promote_pilots": texts},
    ),
    "assessment_create": Target(
        form=_form("dreamseed.assessments.forms.AssessmentForm"),
        fields=_assessment_fields,
        url=lambda ctx: "/tests/new/",
        who="alpha_teacher",
    ),
    "assessment_edit": Target(
        form=_form("dreamseed.assessments.forms.AssessmentForm"),
        fields=_assessment_fields,
        url=lambda ctx: f"/tests/{ctx['assessment']}/edit/",
        who="alpha_teacher",
    ),
    "assign": Target(
        form=_form("dreamseed.assessments.forms.AssignForm", classes=_classes),
        fields=lambda ctx: _window_fields(ctx) | {"classes": many(ids(ctx["class"]))},
        url=lambda ctx: f"/tests/{ctx['assessment']}/",
        who="alpha_teacher",
    ),
    "accommodation": Target(
        form=_form("dreamseed.assessments.forms.AccommodationForm", students=_students),
        fields=lambda ctx: {
            "student": ids(ctx["student"], ctx["teacher"]),
            "extra_time_multiplier": numbers,
            "extra_attempts": numbers,
        },
        url=lambda ctx: f"/tests/assignments/{ctx['assignment']}/",
        who="alpha_teacher",
    ),
    "seats": Target(
        form=_form("dreamseed.billing.forms.SeatsForm", seats_used=3),
        fields=lambda ctx: {"seats": numbers},
        url=lambda ctx: "/billing/checkout/",
        who="alpha_admin",
    ),
    "lti_platform": Target(
        form=_form("dreamseed.lti.forms.PlatformForm"),
        fields=lambda ctx: (
            dict.fromkeys(PLATFORM_TEXT_FIELDS, texts)
            | {"vendor": st.one_of(texts, st.sampled_from(["canvas", "moodle", "other"]))}
        ),
        url=lambda ctx: "/lti/platforms/new/",
        who="alpha_admin",
    ),
    "lti_deep_link": Target(
        form=_form("dreamseed.lti.forms.DeepLinkForm", assessments=_assessments),
        fields=lambda ctx: _window_fields(ctx) | {"assessment": ids(ctx["assessment"])},
    ),
}


@pytest.fixture
def ctx(world, alpha_teacher, alpha_student):
    return {
        "class": world.school_class.pk,
        "join_code": world.school_class.join_code,
        "item": world.items[0].pk,
        "assessment": world.assessment.pk,
        "assignment": world.assignment.pk,
        "teacher": alpha_teacher.user_id,
        "student": alpha_student.user_id,
    }


def _query_dict(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in data.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    return query


@pytest.mark.parametrize("name", TARGETS)
def test_forms_and_their_pages_never_crash(name, ctx, personas, client_for, public_client):
    target = TARGETS[name]
    fields = target.fields(ctx)
    file_fields = target.files(ctx)
    client = None
    if target.url is not None:
        if target.public:
            client = public_client
        elif target.who:
            client = client_for(personas[target.who])
        else:
            client = client_for(host=personas["alpha_admin"].host)

    @given(
        data=st.fixed_dictionaries({}, optional=fields),
        uploads=st.fixed_dictionaries({}, optional=file_fields),
    )
    @settings(
        max_examples=EXAMPLES or 20,
        deadline=None,
        derandomize=EXAMPLES is None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(data, uploads):
        files = {
            name: SimpleUploadedFile("upload.csv", content, content_type="text/csv")
            for name, content in uploads.items()
        }
        with in_schema("public" if target.public else "alpha"):
            form = target.form(_query_dict(data), files or None, ctx)
            assert form.is_valid() in (True, False)
            if not form.is_valid():
                assert form.errors
        if client is None:
            return
        url = target.url(ctx)
        posted = target.before_post(data)
        if target.method == "get":
            response = client.get(url, posted)
        else:
            for upload in files.values():
                upload.seek(0)
            response = client.post(url, {**posted, **files})
        assert response.status_code < 500, (url, posted, response.status_code)

    check()


def test_accommodation_page_with_a_non_numeric_student(ctx, personas, client_for):
    client = client_for(personas["alpha_teacher"])
    response = client.post(
        f"/tests/assignments/{ctx['assignment']}/",
        {"student": " ", "extra_time_multiplier": "1.5", "extra_attempts": "0"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("content", [DEEP_JSON, DEEP_JSON_OBJECT], ids=["array", "object"])
def test_item_import_page_refuses_deeply_nested_json_files(ctx, personas, client_for, content):
    response = client_for(personas["alpha_teacher"]).post(
        "/items/import/", {"file": SimpleUploadedFile("items.json", content)}
    )
    assert response.status_code == 400
    assert "nested more than" in " ".join(response.context["form"].errors["file"])


def test_item_import_page_refuses_an_oversized_json_file(ctx, personas, client_for, monkeypatch):
    monkeypatch.setattr("dreamseed.itembank.import_export.IMPORT_MAX_BYTES", 10_000)
    body = b'[{"stem": "' + b"x" * 20_000 + b'"}]'
    response = client_for(personas["alpha_teacher"]).post(
        "/items/import/", {"file": SimpleUploadedFile("items.json", body)}
    )
    assert response.status_code == 400
    assert "larger than" in " ".join(response.context["form"].errors["file"])
