import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from clinic.money import format_money
from clinic.roles import Role
from tests.careteam.factories import PractitionerFactory
from tests.factories import PASSWORD, UserFactory, user_with_role
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")

HOME_PAGES = {
    Role.MEMBER: ("members:my_membership", "My membership"),
    Role.CLINICIAN: ("careteam:caseload", "My caseload"),
    Role.HUB_COORDINATOR: ("careteam:team_dashboard", "Team dashboard"),
    Role.ADMINISTRATOR: ("administration", "Administration"),
    Role.ANCHOR_CONTACT: ("billing:contract", "Contract"),
}


def person_with(role: Role):
    if role is Role.MEMBER:
        return MemberFactory().user
    if role in (Role.CLINICIAN, Role.HUB_COORDINATOR):
        return PractitionerFactory(user__roles=[role]).user
    return user_with_role(role)


def log_in(client, email: str, password: str = PASSWORD):
    return client.post(LOGIN_URL, {"login": email, "password": password})


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_own_home_page(client, role):
    user = person_with(role)
    response = log_in(client, user.email)
    assert response.status_code == 302
    landing = client.get(response.url, follow=True)
    url_name, heading = HOME_PAGES[role]
    assert landing.redirect_chain[-1][0] == reverse(url_name)
    assert f"<h1>{heading}</h1>" in landing.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_home_pages_of_other_roles_are_forbidden(client, role):
    client.force_login(person_with(role))
    for other, (url_name, _heading) in HOME_PAGES.items():
        if other is role or {role, other} == {Role.CLINICIAN, Role.HUB_COORDINATOR}:
            continue
        assert client.get(reverse(url_name)).status_code == 403, (role, other)


def test_navigation_shows_only_the_links_of_the_roles_held(client):
    client.force_login(person_with(Role.ANCHOR_CONTACT))
    page = client.get(reverse("billing:contract")).content.decode()
    assert reverse("billing:contract") in page
    assert reverse("members:my_membership") not in page
    assert reverse("administration") not in page


def test_navigation_of_two_roles_in_the_language_of_the_page(client):
    """The links are worked out once per roles and language (clinic.navigation): a
    clinician who is also a member gets both sets, labelled in the page's language."""
    from django.utils import translation

    from clinic.roles import grant_role

    user = person_with(Role.CLINICIAN)
    grant_role(user, Role.MEMBER)
    client.force_login(user)
    page = client.get(reverse("careteam:caseload")).content.decode()
    for name, label in [
        ("members:my_membership", "My membership"),
        ("arcs:my_care_arc", "My care arc"),
        ("careteam:caseload", "My caseload"),
    ]:
        assert f'href="{reverse(name)}">{label}</a>' in page
    assert reverse("careteam:team_dashboard") not in page
    with translation.override("es"):
        spanish = client.get(reverse("careteam:caseload"), HTTP_ACCEPT_LANGUAGE="es")
        label = translation.gettext("My caseload")
    assert label != "My caseload"
    assert f'href="{reverse("careteam:caseload")}">{label}</a>' in spanish.content.decode()


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("members:my_membership"))
    assert response.status_code == 302
    assert response.url.startswith(LOGIN_URL)


def test_wrong_password_is_refused_with_a_message(client):
    user = MemberFactory().user
    response = log_in(client, user.email, "not the password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unverified_email_cannot_reach_home(client):
    user = UserFactory(roles=[Role.MEMBER])
    user.emailaddress_set.update(verified=False)
    log_in(client, user.email)
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client):
    user = MemberFactory().user
    log_in(client, user.email)
    assert "_auth_user_id" in client.session
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("members:my_membership")).status_code == 302


def test_repeated_failed_logins_are_rate_limited(client):
    user = MemberFactory().user
    for _attempt in range(5):
        log_in(client, user.email, "wrong")
    response = log_in(client, user.email, PASSWORD)
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signup_is_closed(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.org", "password1": "x-Very-long-1", "password2": "x-Very-long-1"},
    )
    assert response.status_code == 200
    assert not UserFactory._meta.model.objects.filter(email="new@example.org").exists()


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ADMINISTRATOR])
def test_staff_are_sent_to_mfa_enrolment_when_required(client, settings, role):
    settings.CLINIC_REQUIRE_STAFF_MFA = True
    log_in(client, person_with(role).email)
    response = client.get(reverse(HOME_PAGES[role][0]))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    # allauth asks for the password again before a second factor can be added.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    response = client.post(response.url, {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert "authenticator" in response.content.decode().lower()


def test_staff_with_mfa_enrolled_reach_their_home(client, settings):
    settings.CLINIC_REQUIRE_STAFF_MFA = True
    user = person_with(Role.ADMINISTRATOR)
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    assert client.get(reverse("administration")).status_code == 200


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ANCHOR_CONTACT])
def test_members_and_anchor_contacts_are_not_forced_into_mfa(client, settings, role):
    settings.CLINIC_REQUIRE_STAFF_MFA = True
    client.force_login(person_with(role))
    assert client.get(reverse(HOME_PAGES[role][0])).status_code == 200


def test_staff_are_not_forced_into_mfa_when_the_setting_is_off(client, settings):
    settings.CLINIC_REQUIRE_STAFF_MFA = False
    client.force_login(person_with(Role.CLINICIAN))
    assert client.get(reverse("careteam:caseload")).status_code == 200


def test_django_admin_is_for_superusers_only(client):
    client.force_login(person_with(Role.ADMINISTRATOR))
    assert client.get("/django-admin/").status_code == 302
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/django-admin/").status_code == 200


def test_landing_page_explains_the_clinic_and_links_to_login(client, settings):
    page = client.get(reverse("landing")).content.decode()
    assert settings.CLINIC_NAME in page
    assert reverse("account_login") in page
    assert 'href="#main"' in page


def test_password_reset_mails_a_link_that_sets_a_new_password(client, mailoutbox):
    import re

    user = MemberFactory().user
    client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+)", mailoutbox[0].body)
    assert link
    form_page = client.get(link.group(1), follow=True)
    new_password = "a-brand-new-Passphrase-42"
    client.post(
        form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password}
    )
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert log_in(client, user.email, new_password).status_code == 302


def test_public_home_shows_what_membership_costs_before_anyone_applies(client):
    from tests.members.factories import FeePlanFactory, ShareClassFactory

    FeePlanFactory(name="Tier A", amount="12.00", currency="EUR", period="monthly")
    FeePlanFactory(name="Closed tier", is_available=False)
    ShareClassFactory(name="Member share", par_value="50.00", currency="EUR", minimum_holding=1)
    page = client.get(reverse("landing")).content.decode()
    assert "What membership costs" in page
    assert "Tier A" in page and format_money("12.00", "EUR") in page
    assert "Closed tier" not in page
    assert f"Member share: {format_money(50, 'EUR')} each, at least 1 per member" in page


def test_build_one_page_links_the_source_and_says_what_a_clinic_needs(client, settings):
    settings.CLINIC_SOURCE_URL = "https://example.org/clinic-source"
    page = client.get(reverse("build_one")).content.decode()
    assert 'href="https://example.org/clinic-source"' in page
    assert "PostgreSQL and Redis" in page
    assert reverse("build_one") in client.get(reverse("landing")).content.decode()


def test_each_request_reads_the_person_with_their_roles_and_member_record_at_once(
    client, django_assert_num_queries
):
    from django.http import Http404

    from clinic.auth import ModelBackend
    from clinic.roles import roles_of
    from members.selectors import member_for_user

    member = MemberFactory()
    with django_assert_num_queries(1):
        person = ModelBackend().get_user(member.user.pk)
        assert roles_of(person) == {Role.MEMBER}
        assert member_for_user(person) == member
    staff = user_with_role(Role.ADMINISTRATOR)
    with django_assert_num_queries(1):
        person = ModelBackend().get_user(staff.pk)
        assert roles_of(person) == {Role.ADMINISTRATOR}
        with pytest.raises(Http404):
            member_for_user(person)
    # A role withdrawn counts from the next request; a deactivated account is not loaded.
    member.user.groups.clear()
    client.force_login(member.user)
    assert client.get(reverse("members:my_membership")).status_code == 403
    member.user.is_active = False
    member.user.save()
    assert ModelBackend().get_user(member.user.pk) is None


def test_a_session_ends_everywhere_at_logout_though_it_is_read_from_the_cache(client):
    user = MemberFactory().user
    client.force_login(user)
    other = client.__class__()
    other.cookies["sessionid"] = client.cookies["sessionid"].value
    assert other.get(reverse("members:my_membership")).status_code == 200
    client.post(reverse("account_logout"))
    assert other.get(reverse("members:my_membership")).status_code == 302
