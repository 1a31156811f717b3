"""Roster CSV: read a teacher's file, validate every cell, and plan what importing it would do.

Planning only reads; `services.roster_import_apply` writes the plan. Every problem is reported as
"Line N, column 'x': ..." so a teacher can fix the file in a spreadsheet, and a file with any
problem is never applied, not even in part. Matching is by username (lower-cased; an email
address doubles as the username when there is no username column or cell), so importing the same
file twice plans nothing the second time.
"""

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dreamseed.accounts.models import Role, User
from dreamseed.classes.forms import ROSTER_MAX_BYTES, StudentAddForm
from dreamseed.classes.models import Class, Enrollment
from dreamseed.core.uploads import upload_decode

ROSTER_MAX_ROWS = 5_000
ROSTER_COLUMNS = ("first_name", "last_name", "username", "email", "grade", "class")
ROSTER_REQUIRED_COLUMNS = ("first_name", "last_name", "grade")
# Stop listing problems after this many: by then the file needs fixing as a whole.
ROSTER_MAX_ERRORS = 200

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
FIELD_LABELS = {
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "email": gettext_lazy("email"),
    "grade": gettext_lazy("grade"),
}


class RosterFileError(Exception):
    """The file as a whole cannot be read (size, encoding, empty)."""


@dataclass(frozen=True)
class RosterProblem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Line %(line)s, column '%(column)s': %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class RosterRow:
    line: int
    first_name: str
    last_name: str
    username: str
    email: str | None  # None: the file says nothing about email (no column, or a blank cell)
    grade: str
    school_class: Class
    action: str = CREATE
    changes: list[str] = field(default_factory=list)
    enroll: bool = True
    student: User | None = None
    same_as: int | None = None  # the earlier line with the same student (another class)
    previous: dict[str, str] = field(default_factory=dict)  # current values of changed fields

    @property
    def change_details(self) -> list[tuple[str, str, str]]:
        """(label, now, after import) for each field the import changes."""
        after = {"first_name": self.first_name, "last_name": self.last_name}
        after |= {"email": self.email or "", "grade": self.grade}
        return [
            (str(FIELD_LABELS[name]), self.previous[name], after[name]) for name in self.changes
        ]


@dataclass
class RosterPlan:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)
    truncated: bool = False  # more problems than ROSTER_MAX_ERRORS

    @property
    def is_valid(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        """Students to create, update or leave alone (each counted once), and enrollments."""
        first_rows: dict[str, RosterRow] = {}
        for row in self.rows:
            first_rows.setdefault(row.username, row)
        people = Counter(row.action for row in first_rows.values())
        return {
            "rows": len(self.rows),
            "create": people[CREATE],
            "update": people[UPDATE],
            "unchanged": people[UNCHANGED],
            "enroll": sum(1 for row in self.rows if row.enroll),
        }

    @property
    def has_changes(self) -> bool:
        return any(row.action != UNCHANGED or row.enroll for row in self.rows)

    def digest(self) -> str:
        """A fingerprint of what applying would do, to check a confirm against its preview."""
        hasher = hashlib.sha256()
        for row in self.rows:
            parts = [row.line, row.action, row.username, ",".join(row.changes)]
            parts += [row.school_class.pk, int(row.enroll)]
            hasher.update("|".join(map(str, parts)).encode() + b"\n")
        return hasher.hexdigest()

    def add(self, line: int, column: str | None, message: str) -> None:
        if len(self.problems) >= ROSTER_MAX_ERRORS:
            self.truncated = True
            return
        self.problems.append(RosterProblem(line, column, message))


def roster_decode(data: bytes) -> str:
    """The uploaded bytes as text: UTF-8, with or without a byte-order mark."""
    return upload_decode(
        data,
        max_bytes=ROSTER_MAX_BYTES,
        error=RosterFileError,
        not_text_message=_("This does not look like a CSV file. Upload a .csv file."),
    )


def _delimiter(header_line: str) -> str:
    # Spreadsheets in many languages save "CSV" with semicolons; tabs come from copy-paste.
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _header_name(raw: str) -> str:
    return raw.strip().lower().replace(" ", "_").replace("-", "_")


def roster_plan(*, text: str, default_class: Class, classes) -> RosterPlan:
    """Parse and validate a roster and compare it with the school's current students.

    `default_class` is the class the import was started from (rows without a `class` cell go
    there); `classes` is the queryset of classes the importing teacher may fill.
    """
    plan = RosterPlan()
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    # strict: an unclosed quote is an error instead of silently swallowing the rest of the file.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True
    )
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        plan.add(1, None, _("The file has no header row."))
        return plan
    columns = [_header_name(name) for name in header]
    if not _check_header(plan, columns):
        return plan

    class_lookup = _class_lookup(classes) if "class" in columns else {}
    rows: list[RosterRow] = []
    unusable: list[RosterRow] = []  # lines with a username but other problems
    seen: dict[str, RosterRow] = {}
    data_rows = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            data_rows += 1
            if data_rows > ROSTER_MAX_ROWS:
                plan.problems = [
                    RosterProblem(
                        line,
                        None,
                        _("The file has more than %(max)s students. Split it into smaller files.")
                        % {"max": f"{ROSTER_MAX_ROWS:,}"},
                    )
                ]
                plan.rows = []
                return plan
            row, row_ok = _parse_row(plan, line, columns, cells, default_class, class_lookup)
            if row is None:
                continue
            # A repeated username is reported with the line's other problems, not after they
            # are fixed: the teacher fixes the file once.
            earlier = seen.get(row.username)
            if earlier is not None:
                if _duplicate(plan, row, earlier):
                    continue
                row.same_as = earlier.line
            seen.setdefault(row.username, row)
            (rows if row_ok else unusable).append(row)
    except csv.Error as error:
        plan.add(
            reader.line_num,
            None,
            _(
                "The file is not valid CSV: a quoted value is not closed, or text follows a "
                "closing quote (%(error)s)."
            )
            % {"error": error},
        )
    if not rows and plan.is_valid:
        plan.add(2, None, _("The file has a header but no students."))
    existing = _existing_users(rows + unusable)
    _refuse_staff(plan, rows + unusable, existing)
    plan.problems.sort(key=lambda problem: problem.line)
    if not plan.is_valid:
        return plan
    _compare_with_school(plan, rows, existing)
    plan.rows = rows
    return plan


def _check_header(plan: RosterPlan, columns: list[str]) -> bool:
    ok = True
    for name in columns:
        if name and name not in ROSTER_COLUMNS:
            plan.add(
                1,
                name,
                _("Unknown column. The columns are: %(columns)s.")
                % {"columns": ", ".join(ROSTER_COLUMNS)},
            )
            ok = False
    for name, count in Counter(columns).items():
        if name and count > 1:
            plan.add(1, name, _("This column appears more than once."))
            ok = False
    missing = [name for name in ROSTER_REQUIRED_COLUMNS if name not in columns]
    if missing:
        plan.add(1, None, _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})
        ok = False
    if "username" not in columns and "email" not in columns:
        plan.add(1, None, _("A “username” or an “email” column is needed."))
        ok = False
    return ok


def _class_lookup(classes) -> dict[str, list[Class]]:
    lookup: dict[str, list[Class]] = {}
    for school_class in classes.active().annotate(upper_name=Upper("name")):
        lookup.setdefault(school_class.upper_name.strip(), []).append(school_class)
    return lookup


def _parse_row(
    plan, line, columns, cells, default_class, class_lookup
) -> tuple[RosterRow | None, bool]:
    """The line as a row (None when it has no usable username), and whether it has no problems.

    Problems go to `plan`.
    """
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        plan.add(
            line,
            None,
            _("This line has %(cells)s values but the header has %(columns)s columns.")
            % {"cells": len(cells), "columns": len(columns)},
        )
        return None, False
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)}
    problems_before = len(plan.problems)

    form = StudentAddForm(
        data={name: values.get(name, "") for name in StudentAddForm.base_fields},
        grade_required=True,
    )
    for name, messages in form.errors.items():
        # Without a username column, "give a username or an email" is about the email cell.
        column = "email" if name == "username" and name not in columns else name
        for message in messages:
            plan.add(line, column, message)

    school_class = _row_class(plan, line, values.get("class", ""), default_class, class_lookup)
    row_ok = len(plan.problems) == problems_before and not plan.truncated
    username = form.login_name
    if username is None:
        return None, False
    cleaned = form.cleaned_data
    # On a line with problems, the cells as written still tell whether a repeat is the same
    # student.
    email = cleaned.get("email", values.get("email", "").lower())
    row = RosterRow(
        line=line,
        first_name=cleaned.get("first_name", values.get("first_name", "")),
        last_name=cleaned.get("last_name", values.get("last_name", "")),
        username=username,
        email=email or None,
        grade=cleaned.get("grade", values.get("grade", "")),
        school_class=school_class,
    )
    return row, row_ok


def _row_class(plan, line, class_name, default_class, class_lookup) -> Class | None:
    """The class a line goes to; None (and a problem) when its `class` cell names none."""
    if not class_name:
        return default_class
    matches = class_lookup.get(class_name.upper(), [])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        message = _("'%(value)s' is not one of your classes.")
    else:
        message = _("More than one of your classes is called '%(value)s'. Rename one of them.")
    plan.add(line, "class", message % {"value": class_name})
    return None


def _duplicate(plan: RosterPlan, row: RosterRow, earlier: RosterRow) -> bool:
    """A student may appear once per class; return True if `row` is a problem."""
    column = "username" if row.username != row.email else "email"
    if row.school_class is None or earlier.school_class is None:
        return False  # the line's class cell is already reported; compare once it is fixed
    if row.school_class == earlier.school_class:
        plan.add(
            row.line,
            column,
            _("'%(value)s' is already on line %(line)s.")
            % {"value": row.username, "line": earlier.line},
        )
        return True
    same = (row.first_name, row.last_name, row.email, row.grade) == (
        earlier.first_name,
        earlier.last_name,
        earlier.email,
        earlier.grade,
    )
    if not same:
        plan.add(
            row.line,
            column,
            _("'%(value)s' is on line %(line)s with a different name, email or grade.")
            % {"value": row.username, "line": earlier.line},
        )
        return True
    return False


def _existing_users(rows: list[RosterRow]) -> dict[str, User]:
    """The school's accounts with the lines' usernames, by lower-cased username (one query)."""
    usernames = {row.username for row in rows}
    return {
        user.username.lower(): user
        for user in User.objects.annotate(lower_username=Lower("username"))
        .filter(lower_username__in=usernames)
        .select_related("student_profile")
    }


def _refuse_staff(plan: RosterPlan, rows: list[RosterRow], existing: dict[str, User]) -> None:
    for row in rows:
        user = existing.get(row.username)
        if user is not None and user.role != Role.STUDENT:
            column = "username" if row.username != row.email else "email"
            plan.add(
                row.line,
                column,
                _("'%(value)s' belongs to a staff member of this school, not a student.")
                % {"value": row.username},
            )


def _compare_with_school(
    plan: RosterPlan, rows: list[RosterRow], existing: dict[str, User]
) -> None:
    """Decide create/update/unchanged and whether to enroll (one more query)."""
    students = [user for user in existing.values() if user.role == Role.STUDENT]
    enrolled = set(
        Enrollment.objects.filter(
            student__in=students, school_class__in={row.school_class.pk for row in rows}
        ).values_list("school_class_id", "student_id")
    )
    for row in rows:
        user = existing.get(row.username)
        if user is None:
            continue
        row.student = user
        profile = getattr(user, "student_profile", None)
        current = {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "grade": profile.grade if profile else "",
        }
        wanted = {"first_name": row.first_name, "last_name": row.last_name, "grade": row.grade}
        if row.email is not None:
            wanted["email"] = row.email
        row.changes = [
            name for name in FIELD_LABELS if name in wanted and wanted[name] != current[name]
        ]
        row.previous = {name: current[name] for name in row.changes}
        row.action = UPDATE if row.changes else UNCHANGED
        row.enroll = (row.school_class.pk, user.pk) not in enrolled
