import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clinic.roles import Role, has_role

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "member@demo.coop": Role.MEMBER,
    "member2@demo.coop": Role.MEMBER,
    "clinician@demo.coop": Role.CLINICIAN,
    "doctor@demo.coop": Role.CLINICIAN,
    "hub@demo.coop": Role.HUB_COORDINATOR,
    "admin@demo.coop": Role.ADMINISTRATOR,
    "anchor@demo.coop": Role.ANCHOR_CONTACT,
}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("clinic", "members", "careteam", "arcs", "billing", "governance", "account")
        for model in apps.get_app_config(app).get_models()
    }


def test_seed_demo_twice_gives_the_same_counts():
    call_command("seed_demo")
    first = row_counts()
    passwords = dict(get_user_model().objects.values_list("email", "password"))
    call_command("seed_demo")
    assert row_counts() == first
    assert dict(get_user_model().objects.values_list("email", "password")) == passwords


def test_seed_demo_creates_the_documented_logins_and_cooperative():
    call_command("seed_demo")
    User = get_user_model()
    for email, role in DEMO_LOGINS.items():
        user = User.objects.get(email=email)
        assert user.check_password("demo-pass-2026")
        assert has_role(user, role)
        assert user.emailaddress_set.get().verified
    assert User.objects.get(email="clinician@demo.coop").practitioner.discipline.name == (
        "Physical therapy"
    )
    assert User.objects.get(email="doctor@demo.coop").practitioner.discipline.name == (
        "Primary care medicine"
    )
    Member = apps.get_model("members", "Member")
    assert Member.objects.count() >= 42
    Practitioner = apps.get_model("careteam", "Practitioner")
    disciplines = set(Practitioner.objects.values_list("discipline__slug", flat=True))
    assert {
        "primary-care-medicine",
        "physical-therapy",
        "acupuncture",
        "chiropractic",
        "nutrition",
        "behavioural-health",
    } <= disciplines


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()


def test_seed_demo_in_spanish_names_people_and_writes_texts_in_spanish():
    from arcs.models import Arc, OutcomeMeasure
    from careteam.models import Discipline
    from governance.models import Meeting
    from members.models import FeePlan, Member

    call_command("seed_demo", language="es")
    member = Member.objects.select_related("user").get(user__email="member@demo.coop")
    assert member.user.get_full_name() == "María Socia"
    assert member.preferred_language == "es"  # their mail and documents come in Spanish
    assert get_user_model().objects.get(email="hub@demo.coop").preferred_language == "es"
    assert "Cuota progresiva, tramo 1" in FeePlan.objects.values_list("name", flat=True)
    assert Meeting.objects.filter(title="Asamblea general ordinaria (próxima)").exists()
    assert Arc.objects.filter(title="Ir andando al mercado sin dolor de rodilla").exists()
    assert Discipline.objects.get(slug="physical-therapy").name == "Fisioterapia"
    assert OutcomeMeasure.objects.get(slug="pain-score").name == "Escala de dolor"
    # Nothing in English is left in what the demo wrote.
    assert not FeePlan.objects.filter(name__startswith="Sliding").exists()
    assert not Member.objects.filter(user__first_name="Maria").exists()


def test_seed_demo_in_one_language_is_idempotent_and_refuses_another():
    call_command("seed_demo", language="es")
    first = row_counts()
    call_command("seed_demo", language="es")
    assert row_counts() == first
    with pytest.raises(CommandError, match="built in 'es'"):
        call_command("seed_demo", language="en")
    with pytest.raises(CommandError, match="built in 'es'"):
        call_command("seed_demo")  # the clinic's language, English here
    assert row_counts() == first


def test_seed_demo_offers_only_the_languages_with_a_catalogue():
    with pytest.raises(CommandError):
        call_command("seed_demo", language="fr")
