from django.shortcuts import get_object_or_404

from members.models import Member


def member_for_user(user) -> Member:
    """The member record of the person logged in (404 when they have none)."""
    return get_object_or_404(Member.objects.select_related("user"), user=user)
