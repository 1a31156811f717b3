"""Queries over the school's people shared by several pages."""

from django.db.models import Q, QuerySet

from dreamseed.accounts.models import User


def person_search(search: str, *, via: str = "") -> Q:
    """A filter for people whose name, username or email contains `search` (`via`: the path to
    the user from the model queried, e.g. "student__")."""
    fields = ("first_name", "last_name", "username", "email")
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{via}{field}__icontains": search})
    return condition


def students_matching(students: QuerySet[User], search: str = "") -> QuerySet[User]:
    """`students` whose name, username or email contains `search`, in name order."""
    search = search.strip()
    if search:
        students = students.filter(person_search(search))
    return students.order_by("last_name", "first_name", "username")
