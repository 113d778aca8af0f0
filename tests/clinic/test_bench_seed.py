"""The bench's synthetic clinic, built small: every count asked for, and data the
services' own reads accept (numbers, good standing, invoice numbering, tallies)."""

import datetime
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse

from arcs.models import Arc, Goal, Measurement, ProgressNote
from bench import seed
from billing import selectors as billing_selectors
from billing.models import (
    CoverEnrolment,
    DocumentNumberCounter,
    DocumentSeries,
    Invoice,
    InvoiceStatus,
    Payment,
)
from careteam.models import CareTeamAssignment, Practitioner
from governance import selectors as governance_selectors
from governance.models import Ballot, CastBallot, Participation
from members import selectors as members_selectors
from members.models import Member, MemberNumberSequence, ShareLedgerEntry

pytestmark = pytest.mark.django_db

SIZE = 30


@pytest.fixture
def clinic() -> seed.Clinic:
    return seed.build(size=SIZE)


def test_bench_clinic_has_every_count_asked_for(clinic):
    assert Member.objects.count() == SIZE
    assert Practitioner.objects.count() >= 20
    assert CareTeamAssignment.objects.count() == 3 * SIZE
    assert Arc.objects.count() == SIZE
    assert set(Arc.objects.values_list("member_id", flat=True)) == set(clinic.member_ids)
    assert Goal.objects.count() == 2 * SIZE
    assert Measurement.objects.count() == 4 * SIZE
    assert ProgressNote.objects.count() == 2 * SIZE
    covered = SIZE // 5
    assert CoverEnrolment.objects.filter(contract_id=clinic.contract_id).count() == covered
    fee_members = SIZE - covered
    # Twelve months of fee invoices, and the anchor's invoice each month.
    assert Invoice.objects.filter(member__isnull=False).count() == 12 * fee_members
    assert Invoice.objects.filter(contract_id=clinic.contract_id).count() == 12
    assert Payment.objects.count() == Invoice.objects.filter(status=InvoiceStatus.PAID).count()
    assert Payment.objects.count() > 10 * fee_members
    assert ShareLedgerEntry.objects.count() == 2 * SIZE
    # Every member voted on the motion: 10,000 votes at 10,000 members.
    motion = Ballot.objects.get(kind="motion")
    assert CastBallot.objects.filter(ballot=motion).count() == SIZE
    assert Participation.objects.filter(ballot=motion).count() == SIZE


def test_bench_clinic_is_consistent_with_the_rules(clinic):
    numbers = list(Member.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, SIZE + 1))
    assert MemberNumberSequence.objects.get().last_number == SIZE
    # Bulk inserts skip the forms: every measured value and goal is in its measure's range.
    assert not Measurement.objects.exclude(
        value__gte=F("measure__min_value"), value__lte=F("measure__max_value")
    ).exists()
    assert not Goal.objects.exclude(
        baseline__range=(F("measure__min_value"), F("measure__max_value")),
        target__range=(F("measure__min_value"), F("measure__max_value")),
    ).exists()
    # Everyone is active with a share; only late payers (every 50th fee payer) are not.
    late = [n for n in numbers if n % seed.LATE_PAYER_EVERY == 0 and n <= SIZE - SIZE // 5]
    assert members_selectors.members_in_good_standing().count() == SIZE - len(late)
    assert members_selectors.active_members().count() == SIZE
    # Invoice numbers run 1..N in each year without gaps and the counters agree.
    by_year = defaultdict(list)
    for number in Invoice.objects.values_list("number", flat=True):
        year, n = number.split("-")
        by_year[int(year)].append(int(n))
    for year, ns in by_year.items():
        assert sorted(ns) == list(range(1, len(ns) + 1))
        counter = DocumentNumberCounter.objects.get(series=DocumentSeries.INVOICE, year=year)
        assert counter.last_number == len(ns)
    # A real invoice run for the last billed month finds everything already invoiced.
    last_month = seed.months_billed(clinic.today)[-1]
    preview = billing_selectors.invoice_run_preview(period=last_month, today=clinic.today)
    assert preview.drafts == []
    assert preview.already_invoiced == SIZE - SIZE // 5 + 1
    # The unpaid invoices are the last month's and the late payers' overdue ones.
    aging = billing_selectors.aging_report(on=clinic.today)
    assert aging.invoices.count() == (SIZE - SIZE // 5) + 1 + len(late)
    assert aging.payers.count() == aging.payers.query_set.count() == (SIZE - SIZE // 5) + 1
    # The tally counts what was cast.
    for ballot in Ballot.objects.all():
        tally = governance_selectors.ballot_tally(ballot)
        assert tally.ballots_cast == CastBallot.objects.filter(ballot=ballot).count()
        assert sum(c.votes for c in tally.counts) == tally.ballots_cast * ballot.seats


def test_every_role_of_the_bench_clinic_can_open_its_home_page(clinic):
    client = Client()
    User = get_user_model()
    for user_id in (
        clinic.admin_id,
        clinic.anchor_contact_id,
        clinic.hub_user_id,
        clinic.clinician_user_id,
        clinic.member_user_id,
    ):
        client.force_login(User.objects.get(pk=user_id))
        response = client.get(reverse("home"), follow=True)
        assert response.status_code == 200


def test_bench_seed_command_refuses_a_database_that_has_members(clinic):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("bench_seed", "--size", "10")


def test_months_billed_are_the_twelve_before_this_one():
    months = seed.months_billed(datetime.date(2026, 3, 15))
    assert months[0] == datetime.date(2025, 3, 1)
    assert months[-1] == datetime.date(2026, 2, 1)
    assert len(months) == 12
