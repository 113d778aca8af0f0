from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import selectors

register = template.Library()

BUCKET_LABELS = {
    "current": _("Not yet due"),
    "1-30": _("1 to 30 days"),
    "31-60": _("31 to 60 days"),
    "61-90": _("61 to 90 days"),
    "90+": _("Over 90 days"),
}


@register.inclusion_tag("billing/_my_invoices.html")
def my_invoices(member) -> dict:
    """A member's own invoices with PDFs and payment status, and who covers their care."""
    invoices = list(selectors.member_invoices(member))
    return {
        "invoices": invoices,
        "balances": [
            {"currency": currency, "amount": abs(amount), "owed_by_member": amount > 0}
            for currency, amount in selectors.balances_by_currency(invoices).items()
        ],
        "cover": selectors.member_cover_on(member=member, on=timezone.localdate()),
        **_statement_defaults(),
    }


def _statement_defaults() -> dict:
    from billing.forms import StatementForm

    dates = StatementForm.default_range()
    return {"statement_start": dates["start"], "statement_end": dates["end"]}


@register.inclusion_tag("billing/_member_account.html")
def member_account(member) -> dict:
    """On the member's page for the office: what the member owes and their statement."""
    invoices = list(selectors.member_invoices(member))
    return {
        "member": member,
        "invoice_count": len(invoices),
        "balances": [
            {"currency": currency, "amount": abs(amount), "owed_by_member": amount > 0}
            for currency, amount in selectors.balances_by_currency(invoices).items()
        ],
        **_statement_defaults(),
    }


@register.simple_tag
def statement_dates() -> dict:
    return _statement_defaults()


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.filter
def bucket_label(bucket: str) -> str:
    return BUCKET_LABELS.get(bucket, bucket)
