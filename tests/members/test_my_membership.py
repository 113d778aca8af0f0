import pytest
from django.urls import reverse
from django.utils.formats import date_format

from billing import services as billing_services
from clinic.money import format_money
from clinic.roles import Role
from members import services
from members.models import FeePlanAssignment, ShareCertificate
from tests.billing.factories import EnrolmentFactory
from tests.factories import user_with_role
from tests.members.factories import FeePlanFactory, MemberFactory, ShareClassFactory, holding
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    member = MemberFactory(number=17, user__first_name="Rosa", user__last_name="Costa")
    holding(member, ShareClassFactory(name="Member share"), 2)
    FeePlanAssignment.objects.create(
        member=member, plan=FeePlanFactory(name="Sliding tier 2"), valid_from=member.admitted_on
    )
    return member


def test_member_sees_status_number_plan_shares_and_contact_details(client, member):
    client.force_login(member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "<h1>My membership</h1>" in page
    for text in ("17", "Active", "Sliding tier 2", "Member share", "100.00", member.user.email):
        assert text in page
    assert reverse("members:my_details") in page


def test_member_changes_own_contact_details_and_preferences(client, member):
    client.force_login(member.user)
    response = client.post(
        reverse("members:my_details"),
        {
            "first_name": "Rosa",
            "last_name": "Costa-Berg",
            "address": "9 New Street",
            "phone": "+1 555 0100",
            "preferred_language": "es",
            "notice_delivery": "post",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.address, member.preferred_language, member.notice_delivery) == (
        "9 New Street",
        "es",
        "post",
    )
    assert member.user.last_name == "Costa-Berg"


def test_bad_details_show_field_errors_and_change_nothing(client, member):
    client.force_login(member.user)
    response = client.post(
        reverse("members:my_details"),
        {"first_name": "", "last_name": "X", "address": "", "preferred_language": "xx"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required" in page
    assert "Select a valid choice" in page
    member.refresh_from_db()
    assert member.user.first_name == "Rosa"


def test_member_downloads_own_share_certificate_as_pdf(
    client, member, settings, django_capture_on_commit_callbacks
):
    settings.CLINIC_NAME = "Harbour Health Cooperative"
    client.force_login(member.user)
    share_class = member.share_entries.get().share_class
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("members:certificate_request", args=[share_class.pk]), follow=True
        )
    # The worker renders it after commit; meanwhile the member is told it is coming.
    assert "being prepared" in response.content.decode()
    assert len(callbacks) == 1
    certificate = ShareCertificate.objects.get(member=member)
    url = reverse("members:certificate_download", args=[certificate.pk])
    assert url in client.get(reverse("members:my_membership")).content.decode()
    download = client.get(url)
    assert download["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(download.streaming_content))
    for expected in ("Harbour Health Cooperative", "Rosa Costa", "17", "Member share", "2"):
        assert expected in text
    assert certificate.number in text
    assert date_format(certificate.issued_on, "SHORT_DATE_FORMAT") in text
    # Asked again for the same holding, it is the same certificate, ready at once.
    response = client.post(reverse("members:certificate_request", args=[share_class.pk]))
    assert response.url == url
    assert ShareCertificate.objects.count() == 1


def test_a_changed_holding_gets_a_new_certificate(client, member):
    client.force_login(member.user)
    share_class = member.share_entries.get().share_class
    client.post(reverse("members:certificate_request", args=[share_class.pk]))
    services.share_subscribe(member=member, share_class=share_class, quantity=1, by=None)
    client.post(reverse("members:certificate_request", args=[share_class.pk]))
    assert list(ShareCertificate.objects.order_by("pk").values_list("quantity", flat=True)) == [
        2,
        3,
    ]


def test_another_members_certificate_is_404(client, member):
    share_class = member.share_entries.get().share_class
    certificate = services.share_certificate_for(member=member, share_class=share_class)
    other = MemberFactory()
    client.force_login(other.user)
    url = reverse("members:certificate_download", args=[certificate.pk])
    assert client.get(url).status_code == 404
    # Without shares there is nothing to certify.
    response = client.post(reverse("members:certificate_request", args=[share_class.pk]))
    assert response.status_code == 302
    assert not ShareCertificate.objects.filter(member=other).exists()


def test_a_member_covered_by_an_anchor_organization_sees_who_covers_them(client):
    covered = MemberFactory()
    enrolment = EnrolmentFactory(member=covered, contract__anchor__name="Mill Workers Union")
    uncovered = MemberFactory()
    client.force_login(covered.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "Covered by Mill Workers Union" in page
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    page = client.get(reverse("members:member_detail", args=[covered.pk])).content.decode()
    assert "Covered by Mill Workers Union" in page
    page = client.get(reverse("members:member_detail", args=[uncovered.pk])).content.decode()
    assert "Covered by" not in page
    # A cover that has ended is no longer shown.
    billing_services.enrolment_end(enrolment=enrolment, covered_to=enrolment.covered_from)
    page = client.get(reverse("members:member_detail", args=[covered.pk])).content.decode()
    assert "Covered by" not in page


def test_member_sees_the_balance_they_owe_with_the_invoices_behind_it(client):
    import datetime
    from decimal import Decimal

    from billing import services as billing_services
    from tests.billing.helpers import member_invoice

    invoice = member_invoice(amount=Decimal("20.00"))
    member = invoice.member
    client.force_login(member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "You owe <strong" in page and format_money("20.00", "EUR") in page
    assert invoice.number in page
    billing_services.payment_record(
        invoice=invoice,
        amount=Decimal("20.00"),
        paid_on=datetime.date(2026, 4, 3),
        method="bank_transfer",
    )
    assert "You owe nothing." in client.get(reverse("members:my_membership")).content.decode()


@pytest.mark.parametrize(("chosen", "shown"), [("", "English"), ("pt-br", "Brazilian Portuguese")])
def test_preferred_language_is_shown_by_name_never_as_a_code(client, member, chosen, shown):
    member.preferred_language = chosen
    member.save(update_fields=["preferred_language"])
    client.force_login(member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    language = page.split("Preferred language</dt>")[1].split("</dd>")[0]
    assert language.endswith(f">{shown}")
