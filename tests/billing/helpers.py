import datetime
from decimal import Decimal

from billing import services
from billing.models import Invoice
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
