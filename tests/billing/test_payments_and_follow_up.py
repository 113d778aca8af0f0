import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import selectors, services
from billing.models import EmailKind, Invoice, InvoiceEmail, InvoiceStatus, PaymentMethod
from members.selectors import members_in_good_standing
from tests.billing.helpers import RUN_DAY, contract_invoice, member_invoice

pytestmark = pytest.mark.django_db

D = datetime.date


def pay(invoice, amount, on=RUN_DAY):
    return services.payment_record(
        invoice=invoice,
        amount=Decimal(amount),
        paid_on=on,
        method=PaymentMethod.BANK_TRANSFER,
        today=on,
    )


def status(invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


def test_partial_then_full_payment_moves_the_status():
    invoice = contract_invoice()
    assert status(invoice) == InvoiceStatus.ISSUED
    pay(invoice, "40.00")
    assert status(invoice) == InvoiceStatus.PARTIALLY_PAID
    pay(invoice, "60.00")
    assert status(invoice) == InvoiceStatus.PAID


def test_overpayment_is_refused_with_a_clear_message_and_changes_nothing():
    invoice = contract_invoice()
    pay(invoice, "30.00")
    with pytest.raises(ValidationError, match=r"more than the 70\.00 EUR still due"):
        pay(invoice, "70.01")
    assert invoice.payments.count() == 1
    assert status(invoice) == InvoiceStatus.PARTIALLY_PAID


def test_a_paid_invoice_takes_no_more_payments():
    invoice = contract_invoice()
    pay(invoice, "100.00")
    with pytest.raises(ValidationError, match="nothing is due"):
        pay(invoice, "1.00")


def test_a_credit_note_references_the_invoice_and_reduces_what_is_due():
    invoice = contract_invoice()
    note = services.credit_note_issue(
        invoice=invoice, amount=Decimal("25.00"), reason="One person left early", today=RUN_DAY
    )
    assert note.invoice == invoice
    assert note.number == "CN-2026-000001"
    assert services.invoice_balance(invoice)[2] == Decimal("75.00")
    pay(invoice, "75.00")
    assert status(invoice) == InvoiceStatus.PAID


def test_crediting_the_whole_invoice_marks_it_credited():
    invoice = contract_invoice()
    services.credit_note_issue(invoice=invoice, amount=Decimal("100"), reason="Sent in error")
    assert status(invoice) == InvoiceStatus.CREDITED


def test_cannot_credit_more_than_was_billed_and_not_yet_credited():
    invoice = contract_invoice()
    pay(invoice, "90.00")
    services.credit_note_issue(invoice=invoice, amount=Decimal("30.00"), reason="x")
    with pytest.raises(ValidationError, match=r"Only the 70\.00 EUR"):
        services.credit_note_issue(invoice=invoice, amount=Decimal("70.01"), reason="x")
    with pytest.raises(ValidationError, match="reason"):
        services.credit_note_issue(invoice=invoice, amount=Decimal("1"), reason="  ")


def test_credit_note_numbers_are_their_own_sequence():
    first, second = contract_invoice(), contract_invoice()
    a = services.credit_note_issue(invoice=first, amount=Decimal(1), reason="a", today=RUN_DAY)
    b = services.credit_note_issue(invoice=second, amount=Decimal(1), reason="b", today=RUN_DAY)
    assert (a.number, b.number) == ("CN-2026-000001", "CN-2026-000002")
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        "2026-000001",
        "2026-000002",
    ]


def test_issued_invoices_cannot_be_changed_or_deleted():
    invoice = contract_invoice()
    invoice.total = Decimal("1.00")
    with pytest.raises(ValidationError, match="cannot be changed"):
        invoice.save()
    with pytest.raises(ValidationError, match="cannot be changed"):
        invoice.save(update_fields=["total"])
    with pytest.raises(ValidationError, match="cannot be deleted"):
        invoice.delete()
    line = invoice.lines.get()
    line.amount = Decimal("1.00")
    with pytest.raises(ValidationError, match="cannot be changed"):
        line.save()
    with pytest.raises(ValidationError, match="cannot be deleted"):
        line.delete()
    invoice.refresh_from_db()
    assert invoice.total == Decimal("100.00")
    assert invoice.lines.get().amount == Decimal("100.00")


def test_status_transitions_refuse_invalid_moves():
    invoice = contract_invoice()
    pay(invoice, "100.00")
    invoice.refresh_from_db()
    with pytest.raises(ValidationError, match="is Paid and cannot become Overdue"):
        services.invoice_transition(invoice=invoice, to=InvoiceStatus.OVERDUE)


def reminders(invoice) -> list[int]:
    return list(
        InvoiceEmail.objects.filter(invoice=invoice, kind=EmailKind.REMINDER).values_list(
            "reminder_step", flat=True
        )
    )


def test_overdue_marking_and_one_reminder_per_step_not_per_day(settings, mailoutbox):
    settings.CLINIC_REMINDER_STEPS_DAYS = [7, 30]
    invoice = contract_invoice()  # due 2026-05-01
    due = invoice.due_date
    services.invoices_mark_overdue_and_remind(today=due)
    assert status(invoice) == InvoiceStatus.ISSUED
    for offset in range(1, 7):
        services.invoices_mark_overdue_and_remind(today=due + datetime.timedelta(days=offset))
    assert status(invoice) == InvoiceStatus.OVERDUE
    assert reminders(invoice) == []
    for offset in range(7, 30):
        services.invoices_mark_overdue_and_remind(today=due + datetime.timedelta(days=offset))
    assert reminders(invoice) == [7]
    for offset in range(30, 40):
        services.invoices_mark_overdue_and_remind(today=due + datetime.timedelta(days=offset))
    assert reminders(invoice) == [7, 30]


def test_a_missed_week_sends_only_the_latest_step(settings, django_capture_on_commit_callbacks):
    settings.CLINIC_REMINDER_STEPS_DAYS = [7, 30]
    invoice = contract_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        services.invoices_mark_overdue_and_remind(
            today=invoice.due_date + datetime.timedelta(days=45)
        )
    assert reminders(invoice) == [30]
    email = InvoiceEmail.objects.get(invoice=invoice, kind=EmailKind.REMINDER)
    assert email.status == "sent"


def test_overdue_invoice_stays_overdue_after_a_partial_payment_and_paid_after_all():
    invoice = contract_invoice()
    late = invoice.due_date + datetime.timedelta(days=1)
    services.invoices_mark_overdue_and_remind(today=late)
    pay(invoice, "50.00", on=late)
    assert status(invoice) == InvoiceStatus.OVERDUE
    pay(invoice, "50.00", on=late)
    assert status(invoice) == InvoiceStatus.PAID


def test_paid_and_credited_invoices_are_never_marked_overdue():
    paid, credited = contract_invoice(), contract_invoice()
    pay(paid, "100.00")
    services.credit_note_issue(invoice=credited, amount=Decimal(100), reason="error")
    services.invoices_mark_overdue_and_remind(today=D(2027, 1, 1))
    assert (status(paid), status(credited)) == (InvoiceStatus.PAID, InvoiceStatus.CREDITED)


def test_members_with_overdue_fee_invoices_are_not_in_good_standing(settings):
    settings.CLINIC_GOOD_STANDING_GRACE_DAYS = 30
    invoice = member_invoice()
    on_time = member_invoice()
    member = invoice.member
    due = invoice.due_date
    overdue_ids = set(
        selectors.member_ids_with_invoices_overdue(on=due + datetime.timedelta(days=1)).values_list(
            "pk", flat=True
        )
    )
    assert overdue_ids == {member.pk, on_time.member.pk}
    pay(on_time, "20.00", on=due)
    long_after = due + datetime.timedelta(days=45)
    assert set(
        selectors.member_ids_with_invoices_overdue(on=long_after).values_list("pk", flat=True)
    ) == {member.pk}
    # Good standing (members app) excludes them, whatever its other rules say.
    assert not members_in_good_standing(on=long_after).filter(pk=member.pk).exists()
