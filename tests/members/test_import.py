import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinic.roles import Role, has_role
from members.models import Member, MemberStatus
from tests.factories import user_with_role
from tests.members.factories import FeePlanFactory, MemberFactory, ShareClassFactory

pytestmark = pytest.mark.django_db
HEADER = (
    "first_name,last_name,email,date_of_birth,address,phone,preferred_language,fee_plan,"
    "admitted_on\n"
)


@pytest.fixture
def admin(client):
    user = user_with_role(Role.ADMINISTRATOR)
    client.force_login(user)
    return user


def upload(client, text: str):
    file = SimpleUploadedFile("batch.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("members:register_import"), {"file": file})


def test_valid_file_is_previewed_then_every_row_admitted_in_order(client, admin, mailoutbox):
    FeePlanFactory(name="Tier 1")
    ShareClassFactory(minimum_holding=1)
    MemberFactory(number=30)
    text = HEADER + (
        "Ana,Alvarez,ana@example.org,1980-01-02,1 Mill St,,es,Tier 1,2025-03-01\n"
        "Bram,Berg,bram@example.org,1975-06-07,2 Mill St,+31 1,,,\n"
    )
    preview = upload(client, text)
    assert preview.status_code == 200
    assert "ana@example.org" in preview.content.decode()
    assert not Member.objects.filter(user__email="ana@example.org").exists()
    confirm = preview.context["confirm"]
    response = client.post(reverse("members:register_import"), {"confirm": confirm})
    assert response.status_code == 302
    ana = Member.objects.get(user__email="ana@example.org")
    bram = Member.objects.get(user__email="bram@example.org")
    assert (ana.number, bram.number) == (31, 32)
    assert ana.status == bram.status == MemberStatus.ACTIVE
    assert str(ana.admitted_on) == "2025-03-01"
    assert ana.fee_plans.get().plan.name == "Tier 1"
    assert not bram.fee_plans.exists()
    assert has_role(bram.user, Role.MEMBER)
    assert ana.share_entries.get().quantity == 1


def test_errors_are_named_by_row_and_column_and_nothing_is_imported(client, admin):
    MemberFactory(user__email="taken@example.org")
    text = HEADER + (
        "Ana,Alvarez,ana@example.org,1980-01-02,1 Mill St,,,,\n"
        ",Berg,not-an-email,02/03/1990,2 Mill St,,xx,No such plan,\n"
        "Cara,Costa,ana@example.org,1980-01-02,3 Mill St,,,,\n"
        "Dan,Dubois,taken@example.org,1980-01-02,4 Mill St,,,,2999-01-01\n"
    )
    response = upload(client, text)
    errors = response.context["preview"].errors
    assert (3, "first_name", "This value is required.") in errors
    columns = {(row, column) for row, column, _message in errors}
    assert {
        (3, "email"),
        (3, "date_of_birth"),
        (3, "preferred_language"),
        (3, "fee_plan"),
        (4, "email"),
        (5, "email"),
        (5, "admitted_on"),
    } <= columns
    assert (2, "email") not in columns
    assert "confirm" not in response.context
    page = response.content.decode()
    assert "Row 4, column “email”: The same email is on row 2." in page
    assert not Member.objects.filter(user__email="ana@example.org").exists()


def test_a_header_missing_columns_is_refused(client, admin):
    response = upload(client, "first_name,email\nAna,ana@example.org\n")
    errors = response.context["preview"].errors
    assert (1, "last_name", "This column is missing from the header.") in errors


def test_a_tampered_or_stale_confirmation_imports_nothing(client, admin):
    response = client.post(reverse("members:register_import"), {"confirm": "forged"}, follow=True)
    assert "upload the file again" in response.content.decode()
    text = HEADER + "Ana,Alvarez,ana@example.org,1980-01-02,1 Mill St,,,,\n"
    confirm = upload(client, text).context["confirm"]
    MemberFactory(user__email="ana@example.org")  # registered since the preview
    response = client.post(reverse("members:register_import"), {"confirm": confirm})
    assert response.status_code == 400
    assert Member.objects.filter(user__email="ana@example.org").count() == 1


def test_files_that_are_not_utf8_text_are_refused(client, admin):
    file = SimpleUploadedFile("batch.csv", b"\xff\xfe\x00bad", content_type="text/csv")
    response = client.post(reverse("members:register_import"), {"file": file})
    assert "not UTF-8" in response.content.decode()
