"""Queries over the school's people shared by several pages."""

from django.db.models import Q, QuerySet

from dreamseed.accounts.models import User


def students_matching(students: QuerySet[User], search: str = "") -> QuerySet[User]:
    """`students` whose name, username or email contains `search`, in name order."""
    search = search.strip()
    if search:
        students = students.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(username__icontains=search)
            | Q(email__icontains=search)
        )
    return students.order_by("last_name", "first_name", "username")
