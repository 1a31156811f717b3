"""A new school's schema is a copy of the migrated template, made from DDL read once per
template version (dreamseed/schools/cloning.py)."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dreamseed.schools import cloning
from dreamseed.schools.services import school_create

TEMPLATE = "template_school"


def _new_school(subdomain):
    return school_create(
        name=subdomain.title(),
        subdomain=subdomain,
        admin_email=f"admin@{subdomain}.example",
        admin_first_name="Ada",
        admin_last_name="Admin",
        admin_password="a-long-enough-password-1",
    ).school


def _rows(schema_name, sql):
    with connection.cursor() as cursor:
        cursor.execute(sql.format(schema=connection.ops.quote_name(schema_name)))
        return cursor.fetchall()


def test_a_cloned_school_is_identical_to_the_migrated_template(personas, db):
    # The template was made by running every migration (platform_bootstrap, first start).
    school = _new_school("gamma")
    template = cloning.schema_signature(TEMPLATE)
    clone = cloning.schema_signature(school.schema_name)
    for part in ("tables", "columns", "indexes", "constraints", "sequences"):
        assert clone[part] == template[part], part
        assert clone[part], part  # the comparison compared something
    assert cloning.signature_digest(clone) == cloning.signature_digest(template)
    # The rows the template holds came along, and new rows get the next ids.
    for table in ("django_migrations", "django_content_type", "auth_permission"):
        sql = f"SELECT * FROM {{schema}}.{table} ORDER BY id"
        assert _rows(school.schema_name, sql) == _rows(TEMPLATE, sql), table
    sql = "SELECT last_value, is_called FROM {schema}.django_migrations_id_seq"
    assert _rows(school.schema_name, sql) == _rows(TEMPLATE, sql)


def test_the_signature_sees_a_difference(personas, db):
    with transaction.atomic():
        _new_school("delta")
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX delta_extra ON delta.classes_class (grade)")
        assert (
            cloning.schema_signature("delta")["indexes"]
            != (cloning.schema_signature(TEMPLATE)["indexes"])
        )
        transaction.set_rollback(True)


def test_signup_reads_no_information_schema_and_the_template_once_per_version(personas, db):
    cloning._ddl_by_version.clear()
    with CaptureQueriesContext(connection) as first:
        _new_school("epsilon")
    with CaptureQueriesContext(connection) as second:
        _new_school("zeta")
    for captured in (first, second):
        assert not [q for q in captured.captured_queries if "information_schema" in q["sql"]]
    # The second signup asked pg_catalog for nothing: only the template's version.
    assert not [q for q in second.captured_queries if "pg_attribute" in q["sql"]]
    assert len(second.captured_queries) < len(first.captured_queries)


def test_a_migrated_template_gives_new_ddl(personas, db):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TEMPLATE}.classes_class ADD COLUMN colour varchar(7)")
            cursor.execute(
                f"INSERT INTO {TEMPLATE}.django_migrations (app, name, applied) "
                "VALUES ('classes', '9999_colour', now())"
            )
        school = _new_school("eta")
        columns = _rows(
            school.schema_name,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'eta' "
            "AND table_name = 'classes_class' AND column_name = 'colour'",
        )
        assert columns == [("colour",)]
        assert cloning.schema_signature("eta") == cloning.schema_signature(TEMPLATE)
        transaction.set_rollback(True)
    cloning._ddl_by_version.clear()  # the rolled-back version must not outlive the test
