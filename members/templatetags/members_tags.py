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


@register.inclusion_tag("members/_member_certificates.html")
def member_certificates(member, holdings) -> dict:
    """On the member's page for the office: the certificates, and issuing or reissuing."""
    return {
        "member": member,
        "certificates": selectors.member_certificates(member),
        # Every share class held today: certifying one already certified gives the same
        # certificate again (share_certificate_for is idempotent).
        "to_issue": [h for h in holdings if h["shares"] > 0],
    }
