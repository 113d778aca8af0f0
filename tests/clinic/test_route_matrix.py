"""Every route, requested by every role with other parties' ids: the expected status, never 500.

The patterns are read from the resolver, so a route added without a line in ``ROUTES`` fails
this test the day it is added. Each line declares the route's audience; the expected status
for each role and method follows from the audience (``expected``), with explicit overrides
where a page answers differently on purpose.

Each role requests object URLs filled with *another* party's records: member A asks for
member B's, the anchor contact of A's anchor for the other anchor's, the clinician outside
A's care team for A's arc. The clinician on A's team, the hub coordinator and the
administrator ask for A's, which they may (or, for the administrator, may not) see.
"""

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from arcs import services as arcs_services
from billing import services as billing_services
from billing.models import EmailKind, Invoice, InvoiceRun, RunStatus
from careteam import services as careteam_services
from careteam.models import TeamRole
from clinic.roles import Role
from governance import services as governance_services
from governance.models import DeliveryChannel, MeetingDocument, NoticeDelivery, PostalNoticeBatch
from members.models import MemberEmail, MemberEmailKind, RegisterExport, ShareCertificate
from tests.arcs.factories import (
    ArcFactory,
    CareTeamAssignmentFactory,
    GoalFactory,
    discipline,
    hub_practitioner,
    measure,
)
from tests.billing.factories import (
    AnchorFactory,
    ContractFactory,
    EnrolmentFactory,
    FeePlanAssignmentFactory,
)
from tests.careteam.factories import PractitionerFactory
from tests.factories import UserFactory, user_with_role
from tests.governance.factories import MeetingFactory, motion
from tests.members.factories import (
    ApplicantFactory,
    MemberFactory,
    OrientationSessionFactory,
    ShareClassFactory,
    holding,
)

MARCH = datetime.date(2026, 3, 1)
RUN_DAY = datetime.date(2026, 4, 1)
MISSING = 987654321  # no record has this id

ROLES = (
    "anonymous",
    "member_a",
    "member_b",
    "clinician_in",
    "clinician_out",
    "hub",
    "admin",
    "anchor_a",
    "anchor_b",
    "superuser",
)
# Whose records each role's object URLs carry: "a" is member A, A's care team, A's arc and
# anchor X (A's anchor); "b" is member B and anchor Y. Never the role's own, except for
# the people who are meant to see A's (A's clinician, the hub, the administrator).
SIDE = {
    "anonymous": "a",
    "member_a": "b",
    "member_b": "a",
    "clinician_in": "a",
    "clinician_out": "a",
    "hub": "a",
    "admin": "a",
    "anchor_a": "b",
    "anchor_b": "a",
    "superuser": "a",
}


# --- the records ---------------------------------------------------------------------------


def _side(*, member, clinician, anchor, share_class) -> dict:
    assignment = CareTeamAssignmentFactory(member=member, practitioner=clinician)
    # A colleague of another discipline on the team, whom the consultation asks.
    CareTeamAssignmentFactory(
        member=member, practitioner=PractitionerFactory(discipline=discipline("nutrition"))
    )
    arc = ArcFactory(member=member)
    measurement = arcs_services.measurement_record(
        arc=arc,
        measure=measure(),
        value=Decimal("4"),
        measured_on=datetime.date.today(),
        by=clinician.user,
    )
    contract = ContractFactory(anchor=anchor)
    FeePlanAssignmentFactory(member=member, plan__amount=Decimal("20.00"))
    entry = holding(member, share_class, 2)
    return {
        "member": member,
        "arc": arc,
        "goal": GoalFactory(arc=arc),
        "measurement": measurement,
        "assignment": assignment,
        "consultation": careteam_services.consultation_request(
            arc=arc,
            requested_by=clinician,
            to_discipline=discipline("nutrition"),
            question="Could nutrition help with the knee?",
        ),
        "contract": contract,
        # Covered by the anchor from April: March is billed to the member, and to the anchor
        # for someone else it covers.
        "enrolment": EnrolmentFactory(contract=contract, member=member, covered_from=RUN_DAY),
        "_covered": EnrolmentFactory(contract=contract),
        "ledger_entry": entry,
        "member_email": MemberEmail.objects.create(
            kind=MemberEmailKind.WELCOME, user=member.user, member=member, recipient="a@b.example"
        ),
        "certificate": ShareCertificate.objects.create(
            member=member,
            share_class=share_class,
            last_entry=entry,
            quantity=2,
            file=ContentFile(b"%PDF-1.4", name="certificate.pdf"),
        ),
    }


def build_world() -> dict:
    share_class = ShareClassFactory()
    hub = hub_practitioner()
    clinician_in, clinician_out = PractitionerFactory(), PractitionerFactory()
    member_a, member_b = MemberFactory(), MemberFactory()
    anchor_x, anchor_y = AnchorFactory(), AnchorFactory()
    users = {
        "member_a": member_a.user,
        "member_b": member_b.user,
        "clinician_in": clinician_in.user,
        "clinician_out": clinician_out.user,
        "hub": hub.user,
        "admin": user_with_role(Role.ADMINISTRATOR),
        "anchor_a": user_with_role(Role.ANCHOR_CONTACT),
        "anchor_b": user_with_role(Role.ANCHOR_CONTACT),
        "superuser": UserFactory(is_superuser=True, is_staff=True),
    }
    anchor_x.contacts.add(users["anchor_a"])
    anchor_y.contacts.add(users["anchor_b"])
    CareTeamAssignmentFactory(member=member_a, practitioner=hub, role=TeamRole.HUB_COORDINATOR)
    sides = {
        "a": _side(
            member=member_a, clinician=clinician_in, anchor=anchor_x, share_class=share_class
        ),
        "b": _side(
            member=member_b, clinician=clinician_out, anchor=anchor_y, share_class=share_class
        ),
    }
    billing_services.invoice_run(period=MARCH, today=RUN_DAY)
    for side in sides.values():
        side.pop("_covered")
        side["member_invoice"] = Invoice.objects.get(member=side["member"])
        side["anchor_invoice"] = Invoice.objects.get(contract=side["contract"])
        side["credit_note"] = billing_services.credit_note_issue(
            invoice=side["member_invoice"], amount=Decimal("1.00"), reason="Goodwill"
        )
        side["email"] = billing_services.invoice_email_queue(
            invoice=side["member_invoice"], kind=EmailKind.INVOICE
        )
    meeting = MeetingFactory()
    batch = PostalNoticeBatch.objects.create(
        meeting=meeting, letters=1, pdf=ContentFile(b"%PDF-1.4", name="notices.pdf")
    )
    shared = {
        "share_class": share_class,
        "applicant": ApplicantFactory(),
        "fee_plan": member_a.fee_plans.get().plan,
        "anchor": anchor_x,
        "meeting": meeting,
        "ballot": governance_services.ballot_open(ballot=motion(meeting=meeting)),
        "document": MeetingDocument.objects.create(
            meeting=meeting, title="Accounts", file=ContentFile(b"%PDF-1.4", name="a.pdf")
        ),
        "delivery": NoticeDelivery.objects.create(
            meeting=meeting, member=member_a, channel=DeliveryChannel.POST, postal_batch=batch
        ),
        "batch": batch,
        "orientation_session": OrientationSessionFactory(),
        "interest": careteam_services.interest_submit(
            name="Noor Haddad", email="noor@example.org", discipline=None, message="Hello"
        ),
        "run_preview": billing_services.invoice_run_preview_request(period=MARCH),
        "invoice_run": InvoiceRun.objects.create(
            period=MARCH, status=RunStatus.FINISHED, requested_at=timezone.now()
        ),
        "register_export": RegisterExport.objects.create(
            requested_by=users["admin"], file=ContentFile(b"%PDF-1.4", name="register.pdf")
        ),
    }
    return {"users": users, "sides": sides, "shared": shared}


# --- filling in URL arguments --------------------------------------------------------------

SHARED_KINDS = frozenset(
    {"applicant", "register_export", "fee_plan", "meeting", "ballot", "document", "delivery"}
    | {"batch", "share_class", "orientation_session", "interest", "run_preview", "invoice_run"}
)
# Keyword arguments whose record kind does not depend on the route.
KEYWORD_KINDS = {
    "member_pk": "member",
    "arc_pk": "arc",
    "item_pk": "goal",
    "measurement_pk": "measurement",
    "share_class_pk": "share_class",
    "document_pk": "document",
    "delivery_pk": "delivery",
    "batch_pk": "batch",
    "email_pk": "member_email",
}
# Keyword arguments that are not record ids.
KEYWORD_VALUES = {
    "kind": "goal",
    "action": "subscribe",
    "to": "ended",
    "key": "guessed-key",
    "uidb36": "1",
    "app_label": "members",
    "content_type_id": "1",
    "url": "nowhere/",
}


def record_id(kind: str, *, role: str, world: dict) -> int:
    if kind in SHARED_KINDS:
        return world["shared"][kind].pk
    side = world["sides"][SIDE[role]]
    if kind == "invoice":
        # Anchor contacts guess at anchor invoices, everyone else at a member's invoice.
        kind = "anchor_invoice" if role.startswith("anchor") else "member_invoice"
    if kind == "anchor":
        return side["contract"].anchor_id
    return side[kind].pk


def url_kwargs(route: "Route", keys: list[str], *, role: str, world: dict) -> dict:
    kwargs = {}
    for key in keys:
        if key in KEYWORD_VALUES:
            kwargs[key] = KEYWORD_VALUES[key]
        elif key in KEYWORD_KINDS:
            kwargs[key] = record_id(KEYWORD_KINDS[key], role=role, world=world)
        elif key in ("pk", "object_id", "id"):
            assert route.pk, f"{route.name}: declare which record <{key}> names (pk=...)"
            kwargs[key] = record_id(route.pk, role=role, world=world)
        else:
            raise AssertionError(f"Give the matrix a value for <{key}> in {route.name}")
    return kwargs


# --- the routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    audience: str
    pk: str = ""  # which record <pk> names: "arc", "invoice", "meeting", ...
    ok: int | frozenset = 200  # what a person of the audience gets on GET
    post: int | frozenset | None = None  # ... and on POST (an empty form), when not ``ok``
    # "outer": require_POST answers 405 to every GET before any login check;
    # "inner": the login and role checks come first, then 405 for the audience's GET.
    post_only: str = ""
    overrides: dict = field(default_factory=dict)  # (role, method) -> status


VERDICTS = {
    # audience: {role: verdict}; a role not listed gets "forbidden" (403)
    "public": dict.fromkeys(ROLES, "ok"),
    "anonymous-only": {"anonymous": "ok", **{r: "redirect" for r in ROLES[1:]}},
    "signed-in": dict.fromkeys(ROLES[1:], "ok"),
    "member": {"member_a": "ok", "member_b": "ok"},
    "member-record": {"member_a": "not-found", "member_b": "not-found"},
    "clinical": {"clinician_in": "ok", "clinician_out": "not-found", "hub": "ok"},
    # Records every other person is told do not exist (a member's own arc, any invoice).
    "record": {
        **dict.fromkeys(ROLES[1:], "not-found"),
        "clinician_in": "ok",
        "hub": "ok",
    },
    "billing-record": dict.fromkeys(ROLES[1:], "not-found"),
    "clinical-list": {"clinician_in": "ok", "clinician_out": "ok", "hub": "ok"},
    "hub": {"hub": "ok"},
    # Practitioners' expressions of interest: the hub coordinator and the office.
    "hub-or-admin": {"hub": "ok", "admin": "ok"},
    "admin": {"admin": "ok"},
    "anchor": {"anchor_a": "ok", "anchor_b": "ok"},
    "anchor-record": {"anchor_a": "not-found", "anchor_b": "not-found"},
    # The value report: any contract for the office, the contact's own organization's only.
    "admin-or-anchor-record": {"admin": "ok", "anchor_a": "not-found", "anchor_b": "not-found"},
    # Django's admin sends everyone but a superuser to its own login page.
    "django-admin": {**dict.fromkeys(ROLES[1:], "redirect"), "superuser": "ok"},
}
STATUS_OF = {"redirect": 302, "forbidden": 403, "not-found": 404}


def expected(route: "Route", role: str, method: str) -> int | frozenset:
    if (role, method) in route.overrides:
        return route.overrides[(role, method)]
    if route.post_only == "outer" and method == "GET":
        return 405
    if role == "anonymous" and route.audience not in ("public", "anonymous-only"):
        return 302  # to the login page
    verdict = VERDICTS[route.audience].get(role, "forbidden")
    if verdict != "ok":
        return STATUS_OF[verdict]
    if method == "GET":
        return 405 if route.post_only == "inner" else route.ok
    return route.ok if route.post is None else route.post


def _routes(*routes: Route) -> dict[str, Route]:
    return {route.name: route for route in routes}


# Audiences (see ``expected``): public, signed-in (anyone logged in), member (a member's own
# pages), member-record (a member's own record by id), clinical (a record of a member on
# the clinician's care team; the hub coordinator sees all), clinical-list (clinicians' and
# the hub's lists), hub, admin, anchor (the contact's own organization's records),
# member-or-anchor (invoices: a member's own or the contact's organization's), and
# django-admin (the Django admin site, superusers only).
# The administrator reads general meetings and their documents too.
ADMIN_READS = {("admin", "GET"): 200, ("admin", "POST"): 200}
ADMIN_404 = {("admin", "GET"): 404, ("admin", "POST"): 404}
ROUTES: dict[str, Route] = _routes(
    Route("landing", "public"),
    Route("build_one", "public"),
    Route(
        "home",
        "signed-in",
        ok=302,
        overrides={("superuser", "GET"): 200, ("superuser", "POST"): 200},
    ),
    Route("administration", "admin"),
    Route("healthz", "public", post=405),
    Route("join", "public"),
    Route("rules", "public"),
    Route("orientation_register", "public", pk="orientation_session"),
    Route("orientation_registered", "public"),
    Route("practise_here", "public"),
    Route("practise_thanks", "public"),
    Route("account_login", "anonymous-only"),
    Route("account_logout", "signed-in", post=302),
    Route("account_inactive", "public", post=405),
    Route("account_signup", "anonymous-only"),
    Route("account_reauthenticate", "signed-in"),
    Route("account_email", "signed-in", post=302),
    Route("account_email_verification_sent", "public", post=405),
    Route("account_change_password", "signed-in"),
    Route("account_set_password", "signed-in", ok=302),  # everyone here has a password
    Route("account_reset_password", "public"),
    Route("account_confirm_login_code", "public", ok=302),  # no login code pending
    Route("account_confirm_email", "public", ok=404),  # a guessed key
    Route("account_reset_password_from_key_done", "public", post=405),
    Route("account_reset_password_from_key", "public", ok=404),  # a guessed key
    Route("account_reset_password_done", "public", post=405),
    Route("mfa_index", "signed-in", post=405),
    Route("mfa_authenticate", "public", ok=302),  # no login pending
    Route("mfa_reauthenticate", "signed-in", ok=302),  # nobody here has MFA yet
    Route("mfa_activate_totp", "signed-in", ok=302),  # asks for the password again first
    Route("mfa_deactivate_totp", "signed-in", ok=404),
    Route("mfa_view_recovery_codes", "signed-in", ok=404, post=405),
    Route("mfa_generate_recovery_codes", "signed-in", ok=302),
    Route("mfa_download_recovery_codes", "signed-in", ok=404),
    Route("set_language", "public", ok=302),
    Route("members:my_membership", "member"),
    Route("members:my_details", "member"),
    Route("members:certificate_request", "member", post=302, post_only="outer"),
    Route("members:certificate_download", "member-record", pk="certificate"),
    Route("members:join_done", "public"),
    Route("members:applications", "admin"),
    Route("members:application_detail", "admin", pk="applicant"),
    Route("members:application_approve", "admin", pk="applicant", post=302, post_only="outer"),
    Route("members:application_reject", "admin", pk="applicant", post=400, post_only="outer"),
    Route("members:register", "admin"),
    Route("members:register_csv", "admin", ok=302),  # asks for the password again first
    Route("members:register_exports", "admin", post=302),
    Route("members:register_export_download", "admin", pk="register_export"),
    Route("members:register_import", "admin"),
    Route("members:member_detail", "admin", pk="member"),
    Route("members:member_status", "admin", pk="member", post=400, post_only="outer"),
    # A queued email is refused: back to the member page with the reason.
    Route("members:member_email_resend", "admin", pk="member", post=302, post_only="outer"),
    Route("members:member_plan", "admin", pk="member", post=400, post_only="outer"),
    Route("members:member_orientation", "admin", pk="member", post=400, post_only="outer"),
    Route("members:member_shares", "admin", pk="member", post=400, post_only="outer"),
    Route("members:orientation_sessions", "admin"),
    Route("members:orientation_session_detail", "admin", pk="orientation_session"),
    Route("members:member_certificate_issue", "admin", pk="member", post=302, post_only="inner"),
    Route("members:member_certificate_download", "admin", pk="certificate"),
    # Asks first on GET; reissues on POST.
    Route("members:member_certificate_reissue", "admin", pk="certificate", post=302),
    Route("members:ledger", "admin"),
    Route("members:ledger_reverse", "admin", pk="ledger_entry", post=302, post_only="outer"),
    Route("members:fee_plans", "admin"),
    Route("members:fee_plan_edit", "admin", pk="fee_plan"),
    Route("careteam:caseload", "clinical-list"),
    Route("careteam:team_dashboard", "hub"),
    Route("careteam:notification_email_resend", "hub", pk="email", post=302, post_only="outer"),
    Route("careteam:care_team_members", "hub"),
    # Team members read the team; only the hub coordinator changes it.
    Route("careteam:care_team", "clinical", post=400, overrides={("clinician_in", "POST"): 403}),
    Route("careteam:care_team_end", "hub", pk="assignment", post=302),
    Route("careteam:reviews_due", "clinical-list"),
    Route("careteam:consultation_new", "clinical"),
    Route("careteam:consultation_list", "clinical-list"),
    # The asking clinician cannot answer their own question; the hub may.
    Route(
        "careteam:consultation_detail",
        "clinical",
        pk="consultation",
        overrides={("clinician_in", "POST"): 403},
    ),
    Route(
        "careteam:consultation_close", "clinical", pk="consultation", post=302, post_only="outer"
    ),
    Route("careteam:interest_list", "hub-or-admin"),
    Route("careteam:interest_detail", "hub-or-admin", pk="interest"),
    Route("careteam:interest_close", "hub-or-admin", pk="interest", post=302, post_only="outer"),
    Route("careteam:notifications_read", "clinical-list", post=302, post_only="outer"),
    Route("arcs:my_care_arc", "member"),
    Route("arcs:my_fhir_export", "member"),
    Route("arcs:my_care_summary", "member"),
    Route("arcs:my_care_summary_pdf", "member"),
    Route("arcs:member_fhir_export", "hub"),
    Route("arcs:arc_create", "clinical"),
    Route("arcs:members_without_arc", "hub"),
    Route("arcs:arc_list", "hub"),
    Route("arcs:access_log", "hub"),
    Route("arcs:outcome_measures", "hub"),
    Route("arcs:arc_detail", "record", pk="arc"),
    Route("arcs:arc_edit", "clinical", pk="arc"),
    Route("arcs:arc_status", "clinical", pk="arc", post=400),
    Route("arcs:arc_review", "clinical", pk="arc", post=400),
    Route("arcs:measurement_add", "clinical", pk="arc"),
    # Its author (the clinician on the team) or the hub coordinator; an empty form is 400.
    Route("arcs:measurement_correct", "clinical", pk="arc", post=400),
    Route("arcs:note_add", "clinical", pk="arc"),
    Route("arcs:arc_history", "clinical", pk="arc"),
    Route("arcs:plan_item_add", "clinical", pk="arc"),
    Route("arcs:plan_item_edit", "clinical", pk="arc"),
    Route("arcs:plan_item_remove", "clinical", pk="arc"),
    Route("billing:contract", "anchor"),
    Route("billing:anchor_contract", "anchor-record", pk="contract"),
    Route("billing:anchor_roster", "anchor-record", pk="contract"),
    # Nobody is shown another's invoice; the administrator's 404 is "PDF not prepared".
    Route("billing:invoice_pdf", "billing-record", pk="invoice"),
    # Account statements: the member's own, any member's for the office, a contract's for
    # its anchor's contacts and the office.
    Route("billing:my_statement", "member"),
    Route("billing:member_statement", "admin"),
    Route(
        "billing:contract_statement",
        "anchor-record",
        pk="contract",
        overrides={("admin", "GET"): 200, ("admin", "POST"): 200},
    ),
    Route("billing:credit_note_pdf", "billing-record", pk="credit_note"),
    Route("billing:anchor_list", "admin"),
    Route("billing:anchor_create", "admin"),
    Route("billing:anchor_edit", "admin", pk="anchor"),
    Route("billing:contract_list", "admin"),
    Route("billing:contract_create", "admin"),
    Route("billing:contract_detail", "admin", pk="contract"),
    Route("billing:contract_edit", "admin", pk="contract", ok=302),  # an active contract
    Route("billing:contract_transition", "admin", pk="contract", post=302, post_only="inner"),
    Route("billing:roster_import", "admin", pk="contract"),
    Route("billing:value_report", "admin-or-anchor-record", pk="contract"),
    Route("billing:value_report_pdf", "admin-or-anchor-record", pk="contract"),
    Route("billing:enrolment_end", "admin", pk="enrolment", post=302, post_only="inner"),
    Route("billing:invoice_list", "admin"),
    Route("billing:run_invoicing", "admin"),
    # Starting the run asks for the password again first.
    Route("billing:run_preview", "admin", pk="run_preview", post=302),
    Route("billing:run_progress", "admin", pk="invoice_run"),
    Route("billing:invoice_detail", "admin", pk="invoice"),
    Route("billing:payment_create", "admin", pk="invoice", post=400, post_only="inner"),
    # An empty form gets its errors; the confirmed request asks for the password again.
    Route("billing:credit_note_create", "admin", pk="invoice", post=400, post_only="inner"),
    Route("billing:invoice_email_resend", "admin", pk="email", post=302, post_only="inner"),
    Route("billing:refund_create", "admin", pk="invoice", post=400, post_only="inner"),
    Route("billing:aging_report", "admin"),
    Route("billing:aging_report_csv", "admin"),
    # Without a payer named there is nobody to remind.
    Route("billing:aging_remind", "admin", ok=404),
    Route("billing:federation_statement", "admin"),
    Route("billing:federation_request", "admin", post=302, post_only="inner"),
    Route("billing:federation_pdf", "admin", ok=404),  # no statement prepared
    Route("governance:index", "member"),
    Route("governance:meeting_detail", "member", pk="meeting", overrides=ADMIN_READS),
    Route("governance:document_download", "member", pk="meeting", overrides=ADMIN_READS),
    Route("governance:ballot_detail", "member", pk="ballot"),
    Route("governance:ballot_vote", "member", pk="ballot"),
    Route("governance:proxy_appoint", "member", pk="ballot", post=302, post_only="inner"),
    Route("governance:proxy_revoke", "member", pk="ballot", post=302, post_only="inner"),
    # Results exist once the ballot closes; it is open.
    Route("governance:ballot_results", "member", pk="ballot", ok=404, overrides=ADMIN_404),
    Route("governance:ballot_results_pdf", "member", pk="ballot", ok=404, overrides=ADMIN_404),
    Route("governance:manage", "admin"),
    Route("governance:meeting_create", "admin"),
    Route("governance:meeting_manage", "admin", pk="meeting"),
    Route("governance:meeting_edit", "admin", pk="meeting"),
    Route("governance:agenda_add", "admin", pk="meeting", post=302, post_only="inner"),
    Route("governance:document_upload", "admin", pk="meeting"),
    Route("governance:notice_send", "admin", pk="meeting", post=302, post_only="inner"),
    Route("governance:notice_progress", "admin", pk="meeting"),
    Route("governance:notice_requeue", "admin", pk="meeting", post=302, post_only="inner"),
    Route("governance:postal_notices_pdf", "admin", pk="meeting"),
    Route("governance:ballot_create", "admin"),
    Route("governance:ballot_manage", "admin", pk="ballot"),
    Route("governance:ballot_open", "admin", pk="ballot", post=302, post_only="inner"),
    Route("governance:ballot_edit", "admin", pk="ballot", ok=302),  # open: no more edits
    # Closing asks for the password again after the confirmation page.
    Route("governance:ballot_close", "admin", pk="ballot", post=302),
    Route("governance:ballot_cancel", "admin", pk="ballot", post=302),
    Route("governance:board_apply", "admin", pk="ballot", post=302, post_only="inner"),
    Route("governance:board", "admin"),
    # The admin's own login page: shown to anyone not yet a superuser there.
    Route(
        "django-admin/login/",
        "public",
        overrides={("superuser", "GET"): 302, ("superuser", "POST"): 200},
    ),
    Route("django-admin/logout/", "django-admin", overrides={("superuser", "GET"): 405}),
    # A superuser's admin pages: lists and forms (200), another model's id (302 to the
    # list), the admin's catch-all (404), the append-only records' add, change and delete
    # (403), a GET-only page POSTed to (405); never a 500.
    Route("django-admin", "django-admin", pk="member", ok=frozenset({200, 302, 403, 404, 405})),
)


def route_for(route_text: str, name: str) -> Route:
    """The declared route; a pattern without a declaration fails the test."""
    if route_text in ("django-admin/login/", "django-admin/logout/"):
        return ROUTES[route_text]
    if route_text.startswith("django-admin/"):
        # Django's admin site is one audience: every model's pages behave alike.
        return ROUTES["django-admin"]
    assert name in ROUTES, f"{route_text} ({name or 'no name'}) is not in the route matrix"
    return ROUTES[name]


CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def fill(route_text: str, kwargs: dict) -> str:
    """The address a browser would request, from the route's text and its arguments."""
    path = CONVERTER.sub(lambda m: str(kwargs[m.group(1)]), route_text)
    path = GROUP.sub(lambda m: str(kwargs[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "")


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, list]]:
    """(route, name, keyword names) of every pattern, through every include."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            keys = list(pattern.pattern.regex.groupindex)
            yield prefix + str(pattern.pattern), name or "", keys


# --- requesting ----------------------------------------------------------------------------

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(client: Client, role: str) -> str:
    """The token a browser would send, read from a form page the role can open."""
    page = reverse("account_login") if role == "anonymous" else reverse("account_email")
    response = client.get(page)
    match = TOKEN.search(response.content.decode())
    assert match, f"no form with a CSRF token on {page} for {role}"
    return match.group(1)


def request_all(world: dict, role: str, routes: list[tuple[str, str, list]]) -> dict:
    """{(route, method): (Route, status, path, error)} for one role, each request rolled back."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world["users"][role])
    token = csrf_token(client, role)
    errors: list[str] = []

    def keep(sender, request, **kwargs):
        import traceback

        errors.append(traceback.format_exc(limit=-3))

    got_request_exception.connect(keep)
    results = {}
    try:
        for route_text, name, keys in routes:
            route = route_for(route_text, name)
            key = route_text if route.name.startswith("django-admin") else route.name
            path = fill(route_text, url_kwargs(route, keys, role=role, world=world))
            for method in ("GET", "POST"):
                cookies = client.cookies
                client.cookies = type(cookies)(cookies)
                errors.clear()
                # Each request sees the same records: what one request changes (a POST
                # that approves, closes or logs out) is rolled back before the next.
                with transaction.atomic():
                    if method == "GET":
                        response = client.get(path)
                    else:
                        response = client.post(path, {}, HTTP_X_CSRFTOKEN=token)
                    transaction.set_rollback(True)
                client.cookies = cookies
                results[(key, method)] = (
                    route,
                    response.status_code,
                    path,
                    "".join(errors),
                )
    finally:
        got_request_exception.disconnect(keep)
    return results


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, media_root):
    """The records, built once for the module and rolled back after it."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def all_routes() -> list[tuple[str, str, list]]:
    return list(walk(get_resolver().url_patterns))


def test_every_route_is_in_the_matrix():
    """A new route fails here until its audience is declared, so it is covered at once."""
    missing = []
    for route_text, name, _keys in all_routes():
        try:
            route_for(route_text, name)
        except AssertionError as error:
            missing.append(str(error))
    assert not missing, "\n".join(missing)
    declared = {name for _text, name, _keys in all_routes()} | {
        "django-admin",
        "django-admin/login/",
        "django-admin/logout/",
    }
    assert not set(ROUTES) - declared, "routes declared that no longer exist"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_declared_and_never_500(world, role):
    results = request_all(world, role, all_routes())
    errors, wrong = [], []
    for (key, method), (route, status, path, error) in sorted(results.items()):
        if status >= 500:
            errors.append(f"{method} {path}: {status}\n{error}")
            continue
        want = expected(route, role, method)
        if status not in (want if isinstance(want, frozenset) else {want}):
            wrong.append(f"{method} {path} ({key}): {status}, expected {want}")
    assert not errors, "\n".join(errors)
    assert not wrong, f"{len(wrong)} unexpected answers for {role}:\n" + "\n".join(wrong)
