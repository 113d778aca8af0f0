from django import template

from members import selectors

register = template.Library()


@register.inclusion_tag("members/_admin_card_counts.html")
def members_admin_counts() -> dict:
    """What waits for the office: applications to decide, members to welcome at orientation."""
    return {
        "applications": selectors.applications().count(),
        "orientation": selectors.orientation_pending_count(),
    }
