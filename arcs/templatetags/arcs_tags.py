from django import template

register = template.Library()


@register.inclusion_tag("arcs/_my_care_arc_link.html")
def my_care_arc_link(member) -> dict:
    """A pointer from My membership to My care arc; no clinical content on that page."""
    return {"member": member}
