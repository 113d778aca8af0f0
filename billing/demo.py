"""The demo anchor: an agricultural cooperative covering members 26 to 40, with two months of
invoices (one paid, one overdue); and fee invoices for the members on fee plans (1 to 25).

Safe to run again: everything is looked up first, and invoice runs never issue twice."""

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from billing import rules, services
from billing.models import (
    AnchorKind,
    AnchorOrganization,
    ContractStatus,
    CoverEnrolment,
    DirectCareContract,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
)
from clinic.demo import demo_user
from clinic.roles import Role

CONTRACT_START = datetime.date(2025, 1, 1)
COVERED_NUMBERS = range(26, 41)
# Members on fee plans who left their fees unpaid for months: overdue beyond the grace days,
# so they are not in good standing. Never the demo logins (members 1 and 2), who vote.
LATE_PAYERS = (17, 22)


def seed() -> None:
    from members.models import Member

    contact = demo_user(
        email="anchor@demo.coop",
        first_name="Amal",
        last_name="Anchor",
        roles=(Role.ANCHOR_CONTACT,),
    )
    anchor, _created = AnchorOrganization.objects.get_or_create(
        name=_("Valley Growers Agricultural Cooperative"),
        defaults={
            "kind": AnchorKind.AGRICULTURAL_COOPERATIVE,
            "billing_contact_name": contact.get_full_name(),
            "billing_contact_email": "anchor@demo.coop",
            "address": _("12 Orchard Road, Riverside Valley"),
            "tax_id": "VG-0042",
            "previous_spend_per_person_month": Decimal("68.00"),
        },
    )
    anchor.contacts.add(contact)
    contract = DirectCareContract.objects.filter(reference="VG-2025-01").first()
    if contract is None:
        contract = services.contract_save(
            contract=DirectCareContract(
                anchor=anchor,
                reference="VG-2025-01",
                start_date=CONTRACT_START,
                rate_per_member_month=Decimal("45.00"),
                payment_terms_days=14,
                billing_day=1,
                status=ContractStatus.ACTIVE,
            )
        )
    # Members are seeded by another app; tolerate any that are missing.
    for member in Member.objects.filter(number__in=COVERED_NUMBERS):
        if not CoverEnrolment.objects.filter(contract=contract, member=member).exists():
            services.enrolment_add(
                contract=contract,
                member=member,
                covered_from=max(CONTRACT_START, member.admitted_on or CONTRACT_START),
            )

    today = timezone.localdate()
    older = rules.previous_month(rules.previous_month(rules.previous_month(today)))
    newer = rules.next_month(older)
    # The contract's and the members' invoices of a month are issued by one run on the
    # first of the next month, as the monthly run does: numbers follow issue dates in the
    # series, so issuing September's fees after October's contract invoice would date them
    # in November and the late payers would not yet be past the grace days.
    for period in (older, newer):
        services.invoice_run(
            period=period,
            today=rules.next_month(period),
            contract_ids=[contract.pk],
            include_members=True,
        )
    paid = Invoice.objects.filter(contract=contract, period=older).first()
    if paid and paid.status not in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
        _paid, _credited, balance = services.invoice_balance(paid)
        services.payment_record(
            invoice=paid,
            amount=balance,
            paid_on=min(paid.due_date, today),
            method=PaymentMethod.BANK_TRANSFER,
            reference="VG transfer",
            today=min(paid.due_date, today),
        )
    _seed_member_fees(today)
    services.invoices_mark_overdue_and_remind(today=today)


def _seed_member_fees(today: datetime.date) -> None:
    """Last month's fee invoices, just issued and open, and the two older months (issued by
    the monthly runs in ``seed``) paid, except by the late payers, whose oldest is overdue
    beyond the grace days."""
    last = rules.previous_month(today)
    middle = rules.previous_month(last)
    oldest = rules.previous_month(middle)
    # Last month's fees are issued today, so they are not yet due when the demo starts.
    services.invoice_run(period=last, today=today, contract_ids=[], include_members=True)
    unpaid = (
        Invoice.objects.filter(member__isnull=False, period__in=(oldest, middle))
        .exclude(status__in=(InvoiceStatus.PAID, InvoiceStatus.CREDITED))
        .exclude(member__number__in=LATE_PAYERS)
        .order_by("period", "number")
    )
    for invoice in unpaid:
        _paid, _credited, balance = services.invoice_balance(invoice)
        paid_on = min(invoice.issue_date + datetime.timedelta(days=5), today)
        services.payment_record(
            invoice=invoice,
            amount=balance,
            paid_on=paid_on,
            method=PaymentMethod.DIRECT_DEBIT,
            reference=_("Fee %(month)s") % {"month": f"{invoice.period:%Y-%m}"},
            today=paid_on,
        )
