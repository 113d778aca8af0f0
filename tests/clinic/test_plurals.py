"""Counts on the office's pages read naturally ("1 application", "3 applications"), never
"application(s)", and the count of applications waiting leads to them."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services as billing_services
from billing.models import EmailKind, InvoiceEmail
from clinic.roles import Role
from governance import services as governance_services
from tests.billing.factories import ContractFactory
from tests.billing.helpers import contract_invoice
from tests.factories import user_with_role
from tests.governance.factories import motion
from tests.members.factories import ApplicantFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


def test_applications_waiting_link_to_them_in_singular_and_plural(office):
    ApplicantFactory()
    page = office.get(reverse("administration")).content.decode()
    link = re.search(r'<a href="([^"]+)">1 application waiting</a>', page)
    assert link and link.group(1) == reverse("members:applications")
    ApplicantFactory.create_batch(2)
    page = office.get(reverse("administration")).content.decode()
    assert re.search(r'<a href="[^"]+">3 applications waiting</a>', page)


def test_office_pages_say_day_and_days_and_never_s_in_brackets(office):
    invoice = contract_invoice(rate=Decimal("100.00"))
    contract = ContractFactory(payment_terms_days=1)
    InvoiceEmail.objects.create(
        invoice=invoice, kind=EmailKind.REMINDER, reminder_step=1, recipient="a@example.org"
    )
    billing_services.credit_note_issue(invoice=invoice, amount=Decimal("1.00"), reason="Typo")
    member = MemberFactory()
    ballot = governance_services.ballot_open(ballot=motion())
    pages = {
        "contract": reverse("billing:contract_detail", args=[contract.pk]),
        "invoice": reverse("billing:invoice_detail", args=[invoice.pk]),
        "aging": reverse("billing:aging_report"),
        "member": reverse("members:member_detail", args=[member.pk]),
        "ballot": reverse("governance:ballot_cancel", args=[ballot.pk]),
        "home": reverse("administration"),
    }
    content = {name: office.get(url).content.decode() for name, url in pages.items()}
    assert "net 1 day, billed on day" in content["contract"]
    assert "(1 day overdue)" in content["invoice"]
    assert "The 0 choices cast so far" in content["ballot"]
    for name, page in content.items():
        assert not re.search(r"\w\(s\)", page), name


def _chart_description(points: list, language: str) -> str:
    import datetime
    from types import SimpleNamespace

    from django.utils import translation

    from arcs.charts import goal_chart
    from arcs.selectors import GoalProgress

    measure = SimpleNamespace(name="PHQ-9", unit="", min_value=Decimal(0), max_value=Decimal(27))
    goal = SimpleNamespace(
        pk=1, measure=measure, description="Less low mood", baseline=Decimal(15), target=Decimal(5),
        target_date=datetime.date(2026, 9, 1),
    )  # fmt: skip
    days = [datetime.date(2026, 3, day) for day in (2, 16)]
    progress = GoalProgress(goal=goal, points=list(zip(days, points, strict=False)))
    with translation.override(language):
        return goal_chart(progress, start=datetime.date(2026, 3, 1))["desc"]


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "1 value recorded, on March 2, 2026: 12.", "2 values recorded; the latest"),
        (
            "es",
            "1 valor registrado, del 2 de marzo de 2026: 12.",
            "2 valores registrados; el último",
        ),
        (
            "pt-br",
            "1 valor registrado, em 2 de Março de 2026: 12.",
            "2 valores registrados; o mais",
        ),
    ],
)
def test_a_chart_says_value_and_values(language, one, two):
    assert one in _chart_description([Decimal(12)], language)
    assert two in _chart_description([Decimal(12), Decimal(10)], language)


def test_an_import_of_one_member_says_member(office):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        "first_name,last_name,email,date_of_birth,address,phone,preferred_language,fee_plan,"
        "admitted_on\nAna,Alvarez,ana@example.org,1980-01-02,1 Mill St,,,,\n"
    )
    url = reverse("members:register_import")
    file = SimpleUploadedFile("one.csv", text.encode(), content_type="text/csv")
    confirm = office.post(url, {"file": file}).context["confirm"]
    page = office.post(url, {"confirm": confirm}, follow=True).content.decode()
    assert "1 member is admitted." in page


def test_a_ballot_with_one_eligible_voter_says_voter(office):
    MemberFactory()
    ballot = governance_services.ballot_open(ballot=motion())
    assert ballot.eligible_count == 1
    ballot = governance_services.ballot_close(ballot=ballot)
    page = office.get(reverse("governance:ballot_manage", args=[ballot.pk])).content.decode()
    assert "1 eligible voter; 0 took part." in page
