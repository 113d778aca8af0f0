"""The background work the bench measures, each against its floor:

- the monthly invoice run vs a bare bulk insert of the same rows;
- delivery (PDF and email) per invoice vs a bare WeasyPrint render of the same HTML;
- the meeting notice to every member in good standing;
- the tally of the ballot every member voted in.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.ops OUT.json

Changes the database (issues a month of invoices, sends a notice): run it last. Each
measurement is a small function, so it can follow the services when they change.
"""

import json
import statistics
import sys
import time
import traceback
from contextlib import contextmanager

import django

DELIVERY_SAMPLE = 20


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.reads = 0
        self.claims = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        self.reads += sql.lstrip()[:6].upper() == "SELECT"
        # clinic.delivery's claims and records: conditional updates of delivery rows'
        # status (deliver_batch: one claim and one record per group of emails).
        self.claims += sql.lstrip().upper().startswith("UPDATE") and 'SET "STATUS" = ' in (
            sql.upper()
        )
        return execute(sql, params, many, context)


@contextmanager
def counted():
    """Count every query (the debug log is bounded; this is not) and time the block."""
    from django.db import connection

    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        yield counter
    counter.seconds = time.perf_counter() - started


@contextmanager
def eager(on: bool = True):
    from clinic.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = on
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def tally() -> dict:
    from governance.models import Ballot, CastBallot
    from governance.selectors import ballot_tally

    ballot = Ballot.objects.get(kind="motion")
    times = []
    for _ in range(3):
        with counted() as c:
            result = ballot_tally(ballot)
        times.append(c.seconds)
    return {
        "votes": CastBallot.objects.filter(ballot=ballot).count(),
        "ballots_cast": result.ballots_cast,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "queries": c.count,
    }


def delivery() -> dict:
    """Deliver invoices (render, store, email) through the worker's task, then render the
    same invoices' HTML with WeasyPrint alone."""
    import weasyprint
    from django.conf import settings
    from django.template.loader import render_to_string
    from weasyprint.text.fonts import FontConfiguration

    from billing import services, tasks
    from billing.models import Invoice
    from clinic.pdf import _fetcher

    # A second floor: WeasyPrint with one font configuration kept for every render, as
    # clinic.pdf keeps one per thread (WeasyPrint's default loads the fonts each time).
    kept_fonts = FontConfiguration()
    invoices = list(
        Invoice.objects.filter(member__isnull=False, pdf="")
        .order_by("-period", "pk")
        .values_list("pk", flat=True)[:DELIVERY_SAMPLE]
    )
    # Each delivery is followed by the bare render of the same invoice, so both see the
    # same load on a shared machine; the ratio is the median of the pairs' ratios.
    per_invoice, bare, ratios, queries, reads = [], [], [], [], []
    bare_kept, ratios_kept = [], []
    for pk in invoices:
        with eager(), counted() as c:
            tasks.deliver_invoice.delay(pk)
        per_invoice.append(c.seconds)
        queries.append(c.count)
        reads.append(c.reads)
        invoice = Invoice.objects.select_related("contract", "member__user").get(pk=pk)
        html = render_to_string(
            "billing/pdf/invoice.html",
            {
                "CLINIC_NAME": settings.CLINIC_NAME,
                "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
                "CLINIC_TAX_ID": settings.CLINIC_TAX_ID,
                "CLINIC_CURRENCY": settings.CLINIC_CURRENCY,
                **services._pdf_context(invoice),
            },
        )
        started = time.perf_counter()
        weasyprint.HTML(
            string=html, base_url="http://clinic.invalid/", url_fetcher=_fetcher()
        ).write_pdf()
        bare.append(time.perf_counter() - started)
        ratios.append(per_invoice[-1] / bare[-1])
        started = time.perf_counter()
        weasyprint.HTML(
            string=html, base_url="http://clinic.invalid/", url_fetcher=_fetcher()
        ).write_pdf(font_config=kept_fonts)
        bare_kept.append(time.perf_counter() - started)
        ratios_kept.append(per_invoice[-1] / bare_kept[-1])
    return {
        "invoices": len(invoices),
        "median_ms": round(statistics.median(per_invoice) * 1000, 1),
        "bare_weasyprint_ms": round(statistics.median(bare) * 1000, 1),
        "ratio": round(statistics.median(ratios), 2),
        "bare_weasyprint_kept_fonts_ms": round(statistics.median(bare_kept) * 1000, 1),
        "ratio_to_kept_fonts": round(statistics.median(ratios_kept), 2),
        "queries_per_invoice": round(statistics.mean(queries), 1),
        # Reads: what the invoice needs (the target); the rest store the PDF and the email
        # row and are clinic.delivery's claim and record.
        "reads_per_invoice": round(statistics.mean(reads), 1),
    }


def notice() -> dict:
    import datetime

    from django.utils import timezone

    from bench.mail import SerializingEmailBackend
    from governance import services
    from governance.models import MeetingKind, NoticeDelivery

    starts = timezone.now() + datetime.timedelta(days=30)
    meeting = services.meeting_schedule(
        kind=MeetingKind.SPECIAL,
        title="Special general meeting (bench)",
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2),
        place="Community hall",
    )
    sent_before = SerializingEmailBackend.sent
    with eager(), counted() as c:
        services.meeting_send_notice(meeting=meeting)
    emails = SerializingEmailBackend.sent - sent_before
    return {
        "deliveries": NoticeDelivery.objects.filter(meeting=meeting).count(),
        "emails": emails,
        "seconds": round(c.seconds, 2),
        "queries": c.count,
        "queries_per_email": round(c.count / emails, 2) if emails else None,
        # All queries per email (the target, above), of which clinic.delivery's claims
        # and records.
        "claim_and_record_per_email": round(c.claims / emails, 2) if emails else None,
    }


def invoice_run() -> dict:
    """Issue the current month's invoices, then insert the same rows with nothing else
    (one bulk insert per table, rolled back): the floor the run is compared with."""
    from django.db import transaction
    from django.utils import timezone

    from billing import services
    from billing.models import BillingEvent, Invoice, InvoiceLine

    today = timezone.localdate()
    period = today.replace(day=1)
    with eager(False), counted() as c:
        result = services.invoice_run(period=period, today=today)
    invoices = list(Invoice.objects.filter(pk__in=result.created))
    lines = list(InvoiceLine.objects.filter(invoice_id__in=result.created))
    next_period = (period + timezone.timedelta(days=32)).replace(day=1)
    started = time.perf_counter()
    with transaction.atomic():
        copies = Invoice.objects.bulk_create(
            [
                Invoice(
                    number=f"BARE-{i}",
                    contract_id=inv.contract_id,
                    member_id=inv.member_id,
                    period=next_period,
                    issue_date=inv.issue_date,
                    due_date=inv.due_date,
                    currency=inv.currency,
                    total=inv.total,
                    bill_to_name=inv.bill_to_name,
                    bill_to_email=inv.bill_to_email,
                    bill_to_address=inv.bill_to_address,
                    bill_to_tax_id=inv.bill_to_tax_id,
                )
                for i, inv in enumerate(invoices)
            ],
            batch_size=1000,
        )
        copy_of = {inv.pk: copy.pk for inv, copy in zip(invoices, copies, strict=True)}
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice_id=copy_of[line.invoice_id],
                    description=line.description,
                    member_id=line.member_id,
                    start=line.start,
                    end=line.end,
                    days=line.days,
                    days_in_period=line.days_in_period,
                    unit_amount=line.unit_amount,
                    amount=line.amount,
                )
                for line in lines
            ],
            batch_size=1000,
        )
        BillingEvent.objects.bulk_create(
            [
                BillingEvent(action="invoice_issued", invoice_id=pk, detail="bare")
                for pk in copy_of.values()
            ],
            batch_size=1000,
        )
        bare = time.perf_counter() - started
        transaction.set_rollback(True)
    return {
        "invoices": len(result.created),
        "lines": len(lines),
        "seconds": round(c.seconds, 2),
        "queries": c.count,
        "bare_insert_seconds": round(bare, 2),
        "ratio": round(c.seconds / bare, 2) if bare else None,
    }


def main() -> None:
    django.setup()
    results = {}
    for name, measure in (
        ("tally", tally),
        ("delivery", delivery),
        ("notice", notice),
        ("invoice_run", invoice_run),
    ):
        try:
            results[name] = measure()
        except Exception as error:
            traceback.print_exc()
            results[name] = {"error": f"{error.__class__.__name__}: {error}"}
        print(f"  {name}: {results[name]}", flush=True)
    with open(sys.argv[1], "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
