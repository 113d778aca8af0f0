import datetime
from decimal import Decimal

from billing import services
from billing.models import CreditNote, Invoice, Payment, PaymentMethod, Refund
from tests.billing.factories import EnrolmentFactory, FeePlanAssignmentFactory

MARCH = datetime.date(2026, 3, 1)
RUN_DAY = datetime.date(2026, 4, 1)


def contract_invoice(rate=Decimal("100.00"), **kwargs) -> Invoice:
    """An issued invoice of 100.00 (by default) for one covered member in March 2026."""
    enrolment = EnrolmentFactory(contract__rate_per_member_month=rate, **kwargs)
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[enrolment.contract.pk])
    return Invoice.objects.get(contract=enrolment.contract)


def member_invoice(amount=Decimal("20.00"), **kwargs) -> Invoice:
    assignment = FeePlanAssignmentFactory(plan__amount=amount, **kwargs)
    services.invoice_run(period=MARCH, today=RUN_DAY, contract_ids=[])
    return Invoice.objects.get(member=assignment.member)


def paid_invoice() -> tuple[Invoice, Payment]:
    """An invoice of 100.00 paid in full by bank transfer on the run day."""
    invoice = contract_invoice()
    payment = services.payment_record(
        invoice=invoice,
        amount=Decimal("100.00"),
        paid_on=RUN_DAY,
        method=PaymentMethod.BANK_TRANSFER,
        today=RUN_DAY,
    )
    return invoice, payment


def corrected_invoice() -> tuple[Invoice, Payment, CreditNote, Refund]:
    """An invoice of 100.00 paid in full, then credited 30.00 which was refunded: a row in
    every table of receipts, and 100.00 received."""
    invoice, payment = paid_invoice()
    note = services.credit_note_issue(
        invoice=invoice, amount=Decimal("30.00"), reason="Left early", today=RUN_DAY
    )
    refund = services.refund_record(
        invoice=invoice,
        amount=Decimal("30.00"),
        refunded_on=RUN_DAY,
        method=PaymentMethod.BANK_TRANSFER,
        reason="Credit paid back",
        payment=payment,
        today=RUN_DAY,
    )
    return invoice, payment, note, refund
