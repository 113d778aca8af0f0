"""Each person's language: the header's switcher, remembered in the profile, applied at
login, and followed by everything the clinic sends them."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from billing import services as billing_services
from clinic.languages import user_language
from clinic.management.commands.compile_catalogues import compile_catalogues
from clinic.money import format_money
from clinic.roles import Role
from members import services as member_services
from members.models import FeePlanAssignment, ShareCertificate
from tests.billing.helpers import member_invoice
from tests.factories import PASSWORD, user_with_role
from tests.members.factories import FeePlanFactory, MemberFactory, ShareClassFactory, holding
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db
COOKIE = settings.LANGUAGE_COOKIE_NAME


def switch(client, language: str, page: str = "/"):
    return client.post(reverse("set_language"), {"language": language}, HTTP_REFERER=page)


def test_the_switcher_is_a_labelled_list_of_the_clinics_languages_with_a_button(client):
    page = client.get(reverse("landing")).content.decode()
    assert f'action="{reverse("set_language")}"' in page
    assert '<label class="visually-hidden" for="language-select">Language</label>' in page
    for code, name in (("en", "English"), ("es", "Español"), ("pt-br", "Português")):
        assert f'value="{code}" lang="{code}"' in page and name in page
    assert '<button type="submit"' in page and "Change language" in page
    assert '<html lang="en">' in page


def test_a_visitor_switches_to_spanish_and_back(client):
    response = switch(client, "es", reverse("landing"))
    assert response.status_code == 302 and response.url == reverse("landing")
    assert response.cookies[COOKIE].value == "es"
    page = client.get(reverse("landing")).content.decode()
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page and "Hacerse socio/a de la cooperativa" in page
    switch(client, "en")
    assert '<html lang="en">' in client.get(reverse("landing")).content.decode()


def test_a_language_the_clinic_does_not_offer_is_ignored(client):
    response = switch(client, "xx")
    assert COOKIE not in response.cookies


def test_a_members_switch_is_remembered_on_their_member_record(client):
    member = MemberFactory(preferred_language="")
    client.force_login(member.user)
    switch(client, "es")
    member.refresh_from_db()
    assert member.preferred_language == "es"
    assert member.user.preferred_language == ""  # one place for a member's choice


def test_a_clinicians_switch_is_remembered_on_their_account(client):
    clinician = user_with_role(Role.CLINICIAN)
    client.force_login(clinician)
    switch(client, "pt-br")
    clinician.refresh_from_db()
    assert clinician.preferred_language == "pt-br"
    assert user_language(clinician) == "pt-br"


def test_the_remembered_language_is_applied_at_login_on_another_browser(client):
    member = MemberFactory(preferred_language="es")
    # A browser that never chose a language (or chose English) logs in.
    client.cookies[COOKIE] = "en"
    response = client.post(
        reverse("account_login"), {"login": member.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "es"
    page = client.get(reverse("members:my_membership")).content.decode()
    assert '<html lang="es">' in page and "Mi ficha de socio/a" in page


def test_someone_who_never_chose_gets_the_clinics_language(settings):
    clinician = user_with_role(Role.CLINICIAN)
    assert user_language(clinician) == settings.LANGUAGE_CODE


def test_a_member_sees_their_language_by_name_not_code(client):
    member = MemberFactory(preferred_language="")
    client.force_login(member.user)
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "English" in page and ">en<" not in page
    member_services.member_language_set(member=member, language="pt-br")
    switch(client, "es")
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "Idioma preferido" in page and "Español" in page


def test_pages_show_money_and_dates_in_the_active_language(client):
    member = MemberFactory(preferred_language="es")
    holding(member, ShareClassFactory(name="Aportación", par_value="1234.50"), 1)
    FeePlanAssignment.objects.create(
        member=member,
        plan=FeePlanFactory(name="Tramo 2", amount="45.00", currency="EUR"),
        valid_from=datetime.date(2025, 8, 1),
    )
    client.force_login(member.user)
    switch(client, "es")
    page = client.get(reverse("members:my_membership")).content.decode()
    assert "45,00\xa0€" in page  # the Spanish style: decimal comma, symbol after
    assert "01/08/2025" in page  # Spanish short date
    assert "2025-08-01" not in page


# --- What the clinic sends a member is in the member's language -------------------------


def test_a_members_invoice_email_and_pdf_are_in_their_language(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = member_invoice(member__preferred_language="es")
    message = mailoutbox[-1]
    assert message.subject.startswith(f"Factura {invoice.number} de ")
    assert message.extra_headers["Content-Language"] == "es"
    assert "Le adjuntamos la factura" in message.body
    with translation.override("es"):
        assert format_money(invoice.total, invoice.currency) in message.body
    invoice.refresh_from_db()
    text = pdf_text(invoice.pdf.read())
    assert "Importe pendiente" in text and "Amount due" not in text


def test_a_credit_note_pdf_is_in_the_members_language(django_capture_on_commit_callbacks):
    invoice = member_invoice(member__preferred_language="es")
    note = billing_services.credit_note_issue(invoice=invoice, amount=invoice.total, reason="Error")
    note = billing_services.credit_note_render_pdf(credit_note_id=note.pk)
    assert "Rectifica la factura" in pdf_text(note.pdf.read())


def test_a_share_certificate_is_in_the_members_language(django_capture_on_commit_callbacks):
    member = MemberFactory(preferred_language="es")
    share_class = ShareClassFactory(name="Member share")
    holding(member, share_class, 2)
    with django_capture_on_commit_callbacks(execute=True):
        member_services.share_certificate_for(member=member, share_class=share_class)
    certificate = ShareCertificate.objects.get(member=member)
    text = pdf_text(certificate.file.read())
    assert "Certificado de aportaciones" in text and "Share certificate" not in text


def test_a_clinicians_notification_email_is_in_their_language(django_capture_on_commit_callbacks):
    from careteam.services import consultation_request
    from tests.arcs.factories import CareSetting, discipline
    from tests.careteam.factories import PractitionerFactory

    care = CareSetting()
    doctor = PractitionerFactory(
        discipline=discipline("primary-care-medicine"), user__preferred_language="es"
    )
    with django_capture_on_commit_callbacks(execute=True):
        consultation_request(
            arc=care.arc,
            requested_by=care.clinician,
            to_discipline=doctor.discipline,
            to_practitioner=doctor,
            question="?",
        )
    assert mail.outbox[-1].subject.startswith(
        "Un compañero o una compañera le pide una interconsulta"
    )


# --- Compiling ----------------------------------------------------------------------------


def test_catalogues_compile_without_gettext_and_django_reads_them(tmp_path):
    import gettext
    import shutil

    po = tmp_path / "es" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    shutil.copy(settings.BASE_DIR / "clinic/locale/es/LC_MESSAGES/django.po", po)
    assert compile_catalogues([tmp_path]) == [po.with_suffix(".mo")]
    assert compile_catalogues([tmp_path]) == []  # up to date: not written again
    catalogue = gettext.GNUTranslations(po.with_suffix(".mo").open("rb"))
    assert catalogue.gettext("Log out") == "Cerrar sesión"
    assert catalogue.ngettext("%(n)s arc", "%(n)s arcs", 2) == "%(n)s arcos de atención"
    assert catalogue.ngettext("%(n)s arc", "%(n)s arcs", 1) == "%(n)s arco de atención"


def test_an_election_says_how_many_of_how_many_candidates_to_choose(client):
    from governance.services import ballot_open
    from tests.governance.factories import election

    ballot = ballot_open(ballot=election(candidates=[MemberFactory() for _ in range(3)], seats=2))
    member = MemberFactory()
    client.force_login(member.user)
    page = client.get(reverse("governance:ballot_detail", args=[ballot.pk])).content.decode()
    assert "choose up to 2 of 3 candidates" in page
    switch(client, "es")
    page = client.get(reverse("governance:ballot_detail", args=[ballot.pk])).content.decode()
    assert "elija hasta 2 de 3 candidaturas" in page
