import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from members.models import Member, MemberStatus
from tests.members.factories import FeePlanFactory, MemberFactory

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    plan = FeePlanFactory(name="Sliding tier 1")
    return {
        "first_name": "Kaya",
        "last_name": "Eze",
        "email": "kaya@example.org",
        "date_of_birth": "1992-04-05",
        "address": "3 Orchard Way",
        "phone": "",
        "preferred_language": "es",
        "notice_delivery": "email",
        "payment_method": "fee_plan",
        "requested_fee_plan": plan.pk,
        "agree_to_rules": "on",
        **overrides,
    }


def test_join_form_links_the_rules_and_offers_open_plans(client, settings):
    FeePlanFactory(name="Open tier")
    FeePlanFactory(name="Closed tier", is_available=False)
    page = client.get(reverse("join")).content.decode()
    assert f'href="{settings.CLINIC_RULES_URL}"' in page
    assert "Open tier" in page
    assert "Closed tier" not in page
    assert reverse("join") in client.get(reverse("landing")).content.decode()


def test_joining_records_an_applicant_and_says_thank_you(client):
    response = client.post(reverse("join"), form_data(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:join_done")
    member = Member.objects.get(user__email="kaya@example.org")
    assert member.status == MemberStatus.APPLICANT
    assert (member.preferred_language, member.requested_fee_plan.name) == ("es", "Sliding tier 1")
    assert member.user.get_full_name() == "Kaya Eze"
    assert not member.user.has_usable_password()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"agree_to_rules": ""}, "agree_to_rules", "required"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"requested_fee_plan": ""}, "requested_fee_plan", "Choose the fee plan"),
        ({"payment_method": "anchor"}, "anchor_organization_name", "Name the organization"),
        ({"address": ""}, "address", "required"),
    ],
)
def test_bad_applications_show_field_errors_and_create_nothing(client, overrides, field, message):
    response = client.post(reverse("join"), form_data(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert not get_user_model().objects.filter(email="kaya@example.org").exists()


def test_applying_with_a_registered_email_looks_the_same_but_changes_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    member = MemberFactory(user__email="kaya@example.org", user__first_name="Original")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("join"), form_data(first_name="Other"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:join_done")
    member.user.refresh_from_db()
    assert member.user.first_name == "Original"
    assert Member.objects.count() == 1
    assert "already registered" in mailoutbox[0].body


def test_rules_page_states_the_share_rules(client):
    from tests.members.factories import ShareClassFactory

    ShareClassFactory(name="Member share", minimum_holding=1)
    page = client.get(reverse("rules")).content.decode()
    assert "Member share" in page
    assert "One member, one vote" in page


def test_repeated_applications_for_a_registered_address_send_a_bounded_number_of_emails(
    client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "join_address": "3/h/key"}
    MemberFactory(user__email="kaya@example.org")
    statuses = []
    for attempt in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("join"), form_data(), REMOTE_ADDR=f"192.0.2.{attempt + 1}"
            )
        statuses.append(response.status_code)
    assert statuses == [302, 302, 302, 429, 429, 429]
    assert len(mailoutbox) == 3


def test_one_client_cannot_send_unlimited_applications(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "join": "2/h/ip"}
    statuses = [
        client.post(reverse("join"), form_data(email=f"person{n}@example.org")).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    page = client.post(reverse("join"), form_data(email="x@example.org")).content.decode()
    assert "Too many applications" in page
