"""Every page of the register, read as HTML: one h1, labelled fields, table headers with a
scope, statuses in words, links that go somewhere and buttons that submit a form."""

from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinic.roles import Role
from members import services
from members.models import RegisterExport
from tests.factories import user_with_role
from tests.members.factories import (
    ApplicantFactory,
    FeePlanFactory,
    MemberFactory,
    ShareClassFactory,
    holding,
)

pytestmark = pytest.mark.django_db
FIELDS = {"input", "select", "textarea"}
UNLABELLED_INPUT_TYPES = {"hidden", "submit", "button", "image", "reset"}
VOID = {"input", "br", "hr", "img", "meta", "link", "area", "base", "col", "source", "wbr"}


class PageAudit(HTMLParser):
    """Collects what the checks need; ``problems`` lists what is wrong, in words."""

    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0
        self.label_for: set[str] = set()
        self.fields: list[dict] = []
        self.problems: list[str] = []
        self.open: list[tuple[str, dict]] = []
        self.badges: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if "style" in attrs:
            self.problems.append(f"style= on <{tag}>")
        if tag == "script" and "src" not in attrs:
            self.problems.append("inline <script>")
        if tag == "h1":
            self.h1 += 1
        if tag == "th" and "scope" not in attrs:
            self.problems.append("<th> without scope")
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag in FIELDS and attrs.get("type") not in UNLABELLED_INPUT_TYPES:
            inside_label = any(name == "label" for name, _ in self.open)
            self.fields.append({**attrs, "_tag": tag, "_inside_label": inside_label})
        if tag == "a":
            href = attrs.get("href") or ""
            if not href or href == "#" or href.startswith("javascript:"):
                self.problems.append(f"<a> that goes nowhere: {attrs}")
        inside_form = any(name == "form" for name, _ in self.open) or "form" in attrs
        if tag == "button" and attrs.get("type", "submit") == "submit" and not inside_form:
            self.problems.append(f"submit <button> outside a form: {attrs}")
        if "badge" in (attrs.get("class") or "").split():
            self.badges.append([])
        if tag not in VOID:
            self.open.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break

    def handle_data(self, data: str) -> None:
        if self.badges and any(
            "badge" in (attrs.get("class") or "").split() for _, attrs in self.open
        ):
            self.badges[-1].append(data.strip())

    def check(self) -> list[str]:
        problems = list(self.problems)
        if self.h1 != 1:
            problems.append(f"{self.h1} <h1> elements")
        for field in self.fields:
            labelled = (
                field["_inside_label"]
                or field.get("id") in self.label_for
                or field.get("aria-label")
                or field.get("aria-labelledby")
            )
            if not labelled:
                problems.append(f"unlabelled <{field['_tag']}> {field.get('name')}")
        # A status shown as a coloured badge also says what it means.
        problems += ["a badge without words" for badge in self.badges if not "".join(badge)]
        return problems


def audit(response) -> list[str]:
    assert response.status_code in (200, 400), response.status_code
    parser = PageAudit()
    parser.feed(response.content.decode())
    return parser.check()


@pytest.fixture
def world():
    share_class = ShareClassFactory(name="Member share")
    plan = FeePlanFactory(name="Tier 1")
    member = MemberFactory(number=1, orientation_attended_on=None)
    reversed_entry = holding(member, share_class, 3)
    holding(MemberFactory(number=2), share_class, 1)
    applicant = ApplicantFactory(requested_fee_plan=plan)
    admin = user_with_role(Role.ADMINISTRATOR)
    services.share_entry_reverse(entry=reversed_entry, by=admin, reason="Typo")
    holding(member, share_class, 2)
    RegisterExport.objects.create(requested_by=admin)
    return {"member": member, "applicant": applicant, "plan": plan, "admin": admin}


ADMIN_PAGES = [
    ("members:applications", lambda w: {}),
    ("members:application_detail", lambda w: {"pk": w["applicant"].pk}),
    ("members:register", lambda w: {}),
    ("members:register_exports", lambda w: {}),
    ("members:register_import", lambda w: {}),
    ("members:member_detail", lambda w: {"pk": w["member"].pk}),
    ("members:ledger", lambda w: {}),
    ("members:fee_plans", lambda w: {}),
    ("members:fee_plan_edit", lambda w: {"pk": w["plan"].pk}),
]


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_PAGES, ids=[p[0] for p in ADMIN_PAGES])
def test_administrators_pages_are_accessible(client, world, name, kwargs):
    client.force_login(world["admin"])
    assert audit(client.get(reverse(name, kwargs=kwargs(world)))) == []


def test_pages_showing_form_errors_stay_accessible(client, world):
    client.force_login(world["admin"])
    member_pk = world["member"].pk
    responses = [
        client.post(reverse("members:member_status", args=[member_pk]), {"reason": ""}),
        client.post(reverse("members:member_shares", args=[member_pk, "transfer"]), {}),
        client.post(reverse("members:application_reject", args=[world["applicant"].pk]), {}),
        client.post(reverse("members:fee_plans"), {"amount": "-1"}),
        client.post(
            reverse("members:register_import"),
            {
                "file": SimpleUploadedFile(
                    "batch.csv",
                    b"first_name,last_name,email,date_of_birth,address,phone,"
                    b"preferred_language,fee_plan,admitted_on\nAna,,bad,x,,,,,\n",
                )
            },
        ),
    ]
    for response in responses:
        assert response.status_code == 400
        assert audit(response) == []


def test_import_preview_names_each_rows_errors_in_words_not_only_colour(client, world):
    client.force_login(world["admin"])
    text = (
        "first_name,last_name,email,date_of_birth,address,phone,preferred_language,fee_plan,"
        "admitted_on\nAna,A,ana@example.org,1980-01-02,1 St,,,,\nBo,B,bad,1980-01-02,,,,,\n"
    )
    response = client.post(
        reverse("members:register_import"),
        {"file": SimpleUploadedFile("batch.csv", text.encode())},
    )
    page = response.content.decode()
    assert "<td>OK</td>" in page
    assert "<td>2 errors</td>" in page


def test_the_sorted_column_says_so_to_screen_readers(client, world):
    client.force_login(world["admin"])
    page = client.get(reverse("members:register"), {"sort": "-name"}).content.decode()
    assert 'aria-sort="descending"' in page
    assert "sorted descending" in page


def test_members_and_public_pages_are_accessible(client, world):
    assert audit(client.get(reverse("join"))) == []
    assert audit(client.post(reverse("join"), {})) == []
    assert audit(client.get(reverse("members:join_done"))) == []
    assert audit(client.get(reverse("rules"))) == []
    client.force_login(world["member"].user)
    assert audit(client.get(reverse("members:my_membership"))) == []
    assert audit(client.get(reverse("members:my_details"))) == []
    assert audit(client.post(reverse("members:my_details"), {})) == []
