"""Anchor organizations, direct-care contracts, invoices, payments and credit notes."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# DeliveryStatus is re-exported: billing's email rows use the shared delivery states.
from clinic.delivery import DeliveryStatus, EmailDelivery  # noqa: F401
from clinic.money import CurrencyAmountsMixin
from members.models import ImmutableModel, Member


def clinic_currency() -> str:
    return settings.CLINIC_CURRENCY


class AnchorKind(models.TextChoices):
    EMPLOYER = "employer", _("Employer")
    AGRICULTURAL_COOPERATIVE = "agricultural_cooperative", _("Agricultural cooperative")
    COMMUNITY_FOUNDATION = "community_foundation", _("Community foundation")
    LOCAL_HEALTH_AUTHORITY = "local_health_authority", _("Local health authority")
    NGO = "ngo", _("NGO")
    OTHER = "other", _("Other")


class AnchorOrganization(CurrencyAmountsMixin, models.Model):
    """An organization that buys primary care for its people under a direct-care contract."""

    MONEY_FIELDS = ("previous_spend_per_person_month",)

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AnchorKind.choices)
    billing_contact_name = models.CharField(_("billing contact name"), max_length=200)
    billing_contact_email = models.EmailField(_("billing contact email"))
    address = models.TextField(_("address"), blank=True)
    tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    # What the anchor spent on healthcare per covered person per month before the contract,
    # for the value report. Optional: not every anchor knows or shares it.
    previous_spend_per_person_month = models.DecimalField(
        _("previous healthcare spend per person per month"),
        max_digits=15,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(_("currency"), max_length=3, default=clinic_currency)
    # People who log in as this organization's anchor contact.
    contacts = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="anchor_organizations",
        verbose_name=_("anchor contacts"),
    )

    class Meta:
        verbose_name = _("anchor organization")
        verbose_name_plural = _("anchor organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class DirectCareContract(CurrencyAmountsMixin, models.Model):
    """An anchor's purchase of primary care: a per-member-per-month rate for covered people."""

    MONEY_FIELDS = ("rate_per_member_month",)

    anchor = models.ForeignKey(
        AnchorOrganization, on_delete=models.PROTECT, related_name="contracts"
    )
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    rate_per_member_month = models.DecimalField(
        _("rate per covered member per month"),
        max_digits=15,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(_("currency"), max_length=3, default=clinic_currency)
    payment_terms_days = models.PositiveIntegerField(_("payment terms (net days)"), default=30)
    # Day of the month after the billing period on which the anchor's invoice is dated.
    billing_day = models.PositiveSmallIntegerField(
        _("billing day"), default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("direct-care contract")
        verbose_name_plural = _("direct-care contracts")
        ordering = ["anchor__name", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="contract_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(rate_per_member_month__gte=0), name="contract_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(billing_day__gte=1, billing_day__lte=28),
                name="contract_billing_day_in_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.anchor})"


class CoverEnrolment(models.Model):
    """A member covered by a contract from one date to another (inclusive)."""

    contract = models.ForeignKey(
        DirectCareContract, on_delete=models.PROTECT, related_name="enrolments"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cover_enrolments")
    covered_from = models.DateField(_("covered from"))
    covered_to = models.DateField(_("covered to"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cover enrolment")
        ordering = ["contract", "member__number", "covered_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(covered_to__isnull=True) | Q(covered_to__gte=F("covered_from")),
                name="cover_enrolment_dates_in_order",
            ),
            models.UniqueConstraint(
                fields=["contract", "member"],
                condition=Q(covered_to__isnull=True),
                name="one_open_cover_per_member_and_contract",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} on {self.contract.reference} from {self.covered_from}"


class DocumentSeries(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class DocumentNumberCounter(models.Model):
    """The last number given in a series and year. Locked while a number is taken, so
    numbers are sequential without gaps: a rolled-back issue rolls the counter back too."""

    series = models.CharField(max_length=16, choices=DocumentSeries.choices)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_series_year")
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    CREDITED = "credited", _("Credited")


UNPAID_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)

# Fields that may change after an invoice is issued: its status and its delivery.
INVOICE_MUTABLE_FIELDS = frozenset({"status", "pdf"})


class Invoice(CurrencyAmountsMixin, ImmutableModel):
    """An issued invoice, to an anchor (for a contract) or to a member (for their fee).

    Issued invoices are immutable: only status and the stored PDF change afterwards;
    corrections are credit notes and refunds. A PostgreSQL trigger refuses any other
    change (billing migration 0005). ``received`` is kept by the database itself
    (billing migration 0009): each payment and credit note recorded adds its amount and
    each refund takes its amount off, so ``total - received`` is what is still due.
    """

    MONEY_FIELDS = ("total", "received")

    MUTABLE_FIELDS = INVOICE_MUTABLE_FIELDS

    number = models.CharField(_("number"), max_length=32, unique=True)
    contract = models.ForeignKey(
        DirectCareContract,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    # The first day of the billed calendar month.
    period = models.DateField(_("billing period"))
    issue_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=15, decimal_places=4)
    # Payments and credit notes less refunds, added up by database triggers on every
    # receipt (never written by the application): the aging report reads balances
    # without summing every payment the clinic ever received.
    received = models.DecimalField(
        _("amount received"),
        max_digits=15,
        decimal_places=4,
        default=Decimal(0),
        db_default=Decimal(0),
        editable=False,
    )
    # Who it was addressed to, as it was on the invoice date.
    bill_to_name = models.CharField(_("bill to"), max_length=200)
    bill_to_email = models.EmailField(_("email"))
    bill_to_address = models.TextField(_("address"), blank=True)
    bill_to_tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED
    )
    pdf = models.FileField(_("PDF"), upload_to="billing/invoices/%Y/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-number"]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            # The invoice list's order, unfiltered and by status: page 1 reads 25 index
            # entries instead of sorting every invoice.
            models.Index(fields=["-issue_date", "-number"], name="invoice_list_order"),
            models.Index(
                fields=["status", "-issue_date", "-number"], name="invoice_list_status_order"
            ),
            # The list filtered to one run's period (the run's result).
            models.Index(
                fields=["period", "-issue_date", "-number"], name="invoice_list_period_order"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period"],
                condition=Q(contract__isnull=False),
                name="one_invoice_per_contract_and_period",
            ),
            models.UniqueConstraint(
                fields=["member", "period"],
                condition=Q(member__isnull=False),
                name="one_invoice_per_member_and_period",
            ),
            models.CheckConstraint(
                condition=(
                    Q(contract__isnull=False, member__isnull=True)
                    | Q(contract__isnull=True, member__isnull=False)
                ),
                name="invoice_to_contract_or_member",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and not (
            update_fields and set(update_fields) <= INVOICE_MUTABLE_FIELDS
        ):
            raise ValidationError(_("An issued invoice cannot be changed; issue a credit note."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("An issued invoice cannot be deleted; issue a credit note."))


class InvoiceLine(ImmutableModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    description = models.CharField(_("description"), max_length=255)
    # The covered member (contract lines) or the member on the plan (fee lines).
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    days = models.PositiveIntegerField(_("days"))
    days_in_period = models.PositiveIntegerField(_("days in period"))
    unit_amount = models.DecimalField(_("full-period amount"), max_digits=15, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=4)

    class Meta:
        ordering = ["invoice", "pk"]

    def __str__(self) -> str:
        return self.description

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("Lines of an issued invoice cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Lines of an issued invoice cannot be deleted."))


class CreditNote(CurrencyAmountsMixin, ImmutableModel):
    """A correction of an issued invoice: an amount credited back, with a reason.
    Only its stored PDF is written later."""

    MONEY_FIELDS = ("amount",)

    MUTABLE_FIELDS = frozenset({"pdf"})

    number = models.CharField(_("number"), max_length=32, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    issue_date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=255)
    pdf = models.FileField(_("PDF"), upload_to="billing/credit-notes/%Y/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("credit note")
        ordering = ["issue_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive")
        ]

    def __str__(self) -> str:
        return self.number


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(CurrencyAmountsMixin, ImmutableModel):
    MONEY_FIELDS = ("amount",)

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    paid_on = models.DateField(_("date paid"))
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        ordering = ["paid_on", "pk"]
        indexes = [models.Index(fields=["paid_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.paid_on}"


class Refund(CurrencyAmountsMixin, ImmutableModel):
    """Money paid back on an invoice: its own entry, never an edit of a payment.

    Only money the clinic owes back is refunded: what a credit note took off an invoice
    that had already been paid (``refund_record``). The balance is total - paid -
    credited + refunded.
    """

    MONEY_FIELDS = ("amount",)

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    # The payment the money is returned on, when it is known.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    refunded_on = models.DateField(_("date refunded"))
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=255)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        ordering = ["refunded_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} refunded on {self.refunded_on}"


class EmailKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    REMINDER = "reminder", _("Payment reminder")


class InvoiceEmail(EmailDelivery):
    """One email about an invoice (the invoice, a credit note or a reminder) and its delivery.

    Sent only through ``clinic.delivery.deliver_once``: at most once, with "unknown" when an
    attempt may have reached the mail server but its outcome was never recorded.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="emails")
    credit_note = models.OneToOneField(
        CreditNote, on_delete=models.PROTECT, null=True, blank=True, related_name="email"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EmailKind.choices)
    # Days overdue at which a reminder is sent (0 for the invoice and credit notes).
    reminder_step = models.PositiveIntegerField(_("days overdue"), default=0)
    recipient = models.EmailField(_("to"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One invoice email and one reminder per overdue step, whatever retries or reruns.
            models.UniqueConstraint(
                fields=["invoice", "kind", "reminder_step"],
                condition=Q(credit_note__isnull=True),
                name="one_email_per_invoice_kind_and_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice} to {self.recipient}"


class BillingEvent(ImmutableModel):
    """Audit trail of billing writes, written in the same transaction as the write."""

    action = models.CharField(max_length=64)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    contract = models.ForeignKey(
        DirectCareContract, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    detail = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class StatementStatus(models.TextChoices):
    QUEUED = "queued", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class FederationStatementDocument(models.Model):
    """The stored PDF of one month's federation contribution statement, rendered in the
    worker. One row per month (a database constraint), so a double click, a retry or a
    second request never makes a second statement for the same month."""

    # The first day of the month the statement is for.
    month = models.DateField(_("month"))
    status = models.CharField(
        _("status"), max_length=8, choices=StatementStatus.choices, default=StatementStatus.QUEUED
    )
    pdf = models.FileField(_("PDF"), upload_to="billing/federation/%Y/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    rendered_at = models.DateTimeField(_("prepared"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("federation contribution statement")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["month"], name="one_federation_statement_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.get_status_display()})"


# --- Invoice runs started from the "Run invoicing" page -----------------------------------------


class PayerKind(models.TextChoices):
    CONTRACT = "contract", _("Anchor")
    MEMBER = "member", _("Member")


class PreviewStatus(models.TextChoices):
    QUEUED = "queued", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class InvoiceRunPreview(models.Model):
    """What a run for a period would issue, drafted by the worker with the run's own
    drafting (``selectors.invoice_run_preview``) and stored so that the page reads counts,
    totals and one page of invoices from the database whatever the clinic's size."""

    period = models.DateField(_("billing period"))
    # The form's "only this contract"; None: every contract.
    contract = models.ForeignKey(
        DirectCareContract, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    include_members = models.BooleanField(_("members' fee invoices"), default=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    prepared_at = models.DateTimeField(_("prepared"), null=True, blank=True)
    already_invoiced = models.PositiveIntegerField(default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("invoice run preview")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} ({self.get_status_display()})"

    @property
    def contract_ids(self) -> list[int] | None:
        return [self.contract_id] if self.contract_id else None


class InvoiceRunPreviewItem(models.Model):
    """One invoice a previewed run would issue, or one held back (``held``, with why)."""

    preview = models.ForeignKey(InvoiceRunPreview, on_delete=models.CASCADE, related_name="items")
    payer_kind = models.CharField(_("payer"), max_length=8, choices=PayerKind.choices)
    contract = models.ForeignKey(
        DirectCareContract, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    bill_to_name = models.CharField(_("bill to"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    total = models.DecimalField(_("total"), max_digits=15, decimal_places=4, default=0)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    held = models.BooleanField(_("held"), default=False)
    problem = models.CharField(_("problem"), max_length=255, blank=True)

    class Meta:
        ordering = ["-held", "payer_kind", "bill_to_name", "pk"]
        indexes = [
            # The preview's page: problems first, then anchors, then members, by name.
            models.Index(
                fields=["preview", "-held", "payer_kind", "bill_to_name", "id"],
                name="run_preview_item_page",
            )
        ]

    def __str__(self) -> str:
        return f"{self.bill_to_name}: {self.total} {self.currency}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class InvoiceRun(models.Model):
    """A run started from the page, with its progress for the page to show."""

    period = models.DateField(_("billing period"))
    contract = models.ForeignKey(
        DirectCareContract, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    include_members = models.BooleanField(_("members' fee invoices"), default=True)
    status = models.CharField(
        _("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    # What the confirmed preview announced; the run drafts again when it starts, so the
    # data may have changed meanwhile (``expected`` is then the run's own count).
    previewed = models.PositiveIntegerField(null=True, blank=True)
    expected = models.PositiveIntegerField(null=True, blank=True)
    issued = models.PositiveIntegerField(default=0)
    batches_total = models.PositiveIntegerField(null=True, blank=True)
    batches_done = models.PositiveIntegerField(default=0)
    already_invoiced = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("invoice run")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # A double click or a second administrator starts no second run of the period
            # while one is queued or running.
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(status__in=["queued", "running"]),
                name="one_unfinished_invoice_run_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} ({self.get_status_display()})"

    @property
    def contract_ids(self) -> list[int] | None:
        return [self.contract_id] if self.contract_id else None

    @property
    def done(self) -> bool:
        return self.status in (RunStatus.FINISHED, RunStatus.FAILED)
