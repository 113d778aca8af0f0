"""Queries and median server time of every main page of every role (Django test client).

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.pages OUT.json [SESSIONS.json]

Run against a database built by ``bench_seed``. Also writes, when asked, session cookies
of each role for the concurrent load test (``bench.load``).
"""

import json
import statistics
import sys
import time

import django

REPEAT = 5


def _ids() -> dict:
    from arcs.models import Arc
    from billing.models import DirectCareContract, Invoice
    from governance.models import Ballot
    from members.models import Member

    clinician_arc = (
        Arc.objects.filter(
            member__care_team_assignments__practitioner__user__email="practitioner1@bench.coop",
            member__care_team_assignments__ended_on__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return {
        "run_preview": _run_preview(),
        "contract": DirectCareContract.objects.order_by("pk").values_list("pk", flat=True).first(),
        "invoice": Invoice.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "member": Member.objects.order_by("number").values_list("pk", flat=True).first(),
        "arc": clinician_arc,
        "motion": Ballot.objects.filter(kind="motion").values_list("pk", flat=True).first(),
    }


def _run_preview() -> int:
    """A preview of last month's run, drafted as the worker drafts it (the page reads it)."""
    from django.utils import timezone

    from bench.seed import months_billed
    from billing import services

    today = timezone.localdate()
    preview = services.invoice_run_preview_request(period=months_billed(today)[-1])
    return services.invoice_run_preview_prepare(preview_id=preview.pk, today=today).pk


def pages(ids: dict) -> list[tuple[str, str, str, dict | None]]:
    """(role, page name, url, POST data or None) for every main page of every role."""
    from django.urls import reverse

    return [
        ("plain", "plain view (no database)", reverse("bench_plain"), None),
        ("plain", "healthz", reverse("healthz"), None),
        ("member", "my membership", reverse("members:my_membership"), None),
        ("member", "my care arc", reverse("arcs:my_care_arc"), None),
        ("member", "governance", reverse("governance:index"), None),
        ("clinician", "caseload", reverse("careteam:caseload"), None),
        ("clinician", "consultations", reverse("careteam:consultation_list"), None),
        ("clinician", "arc detail", reverse("arcs:arc_detail", args=[ids["arc"]]), None),
        ("hub", "team dashboard", reverse("careteam:team_dashboard"), None),
        # Its figures counted on every view ("Count again now"), not read from the cache.
        (
            "hub",
            "team dashboard (counted afresh)",
            reverse("careteam:team_dashboard") + "?refresh=1",
            None,
        ),
        ("hub", "arc list", reverse("arcs:arc_list"), None),
        ("hub", "care team members", reverse("careteam:care_team_members"), None),
        ("hub", "members without arc", reverse("arcs:members_without_arc"), None),
        ("hub", "access log", reverse("arcs:access_log"), None),
        ("admin", "administration", reverse("administration"), None),
        ("admin", "register", reverse("members:register"), None),
        ("admin", "member detail", reverse("members:member_detail", args=[ids["member"]]), None),
        ("admin", "share ledger", reverse("members:ledger"), None),
        ("admin", "applications", reverse("members:applications"), None),
        ("admin", "fee plans", reverse("members:fee_plans"), None),
        ("admin", "invoice list", reverse("billing:invoice_list"), None),
        ("admin", "invoice detail", reverse("billing:invoice_detail", args=[ids["invoice"]]), None),
        ("admin", "contract list", reverse("billing:contract_list"), None),
        (
            "admin",
            "contract detail",
            reverse("billing:contract_detail", args=[ids["contract"]]),
            None,
        ),
        ("admin", "anchor list", reverse("billing:anchor_list"), None),
        ("admin", "aging report", reverse("billing:aging_report"), None),
        ("admin", "run invoicing (form)", reverse("billing:run_invoicing"), None),
        (
            "admin",
            "run invoicing (preview)",
            reverse("billing:run_preview", args=[ids["run_preview"]]),
            None,
        ),
        ("admin", "federation statement", reverse("billing:federation_statement"), None),
        ("admin", "governance manage", reverse("governance:manage"), None),
        (
            "admin",
            "ballot results",
            reverse("governance:ballot_results", args=[ids["motion"]]),
            None,
        ),
        ("anchor", "anchor home", reverse("billing:contract"), None),
        (
            "anchor",
            "anchor contract detail",
            reverse("billing:anchor_contract", args=[ids["contract"]]),
            None,
        ),
    ]


ROLE_EMAILS = {
    "member": "member1@bench.coop",
    "clinician": "practitioner1@bench.coop",
    "hub": "practitioner0@bench.coop",
    "admin": "admin@bench.coop",
    "anchor": "anchor@bench.coop",
}


def clients() -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    User = get_user_model()
    result = {"plain": Client(raise_request_exception=False)}
    for role, email in ROLE_EMAILS.items():
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(email=email))
        result[role] = client
    return result


def measure(client, url: str, data: dict | None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        return client.post(url, data) if data is not None else client.get(url)

    connection.queries_log.clear()  # a bounded deque: a full one would count nothing
    with CaptureQueriesContext(connection) as queries:
        response = get()
    # Read now: the captured slice is taken from the connection's log when asked.
    count = len(queries)
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "status": response.status_code,
        "queries": count,
        "median_ms": round(statistics.median(times), 2),
    }


def sessions(count: int = 8) -> dict[str, list[str]]:
    """Session cookies for the load test: ``count`` members, and one of each staff role."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    store = import_module(settings.SESSION_ENGINE).SessionStore
    User = get_user_model()

    def cookie(user) -> str:
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "clinic.auth.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    members = User.objects.filter(email__in=[f"member{n}@bench.coop" for n in range(1, count + 1)])
    result = {"member": [cookie(u) for u in members]}
    for role in ("clinician", "hub", "admin", "anchor"):
        result[role] = [cookie(User.objects.get(email=ROLE_EMAILS[role]))]
    return result


def main() -> None:
    django.setup()
    from django.core.signals import request_started
    from django.db import reset_queries

    # Django clears the query log at the start of each request; the count needs it kept.
    request_started.disconnect(reset_queries)
    out = sys.argv[1]
    by_role = clients()
    rows = []
    for role, name, url, data in pages(_ids()):
        row = {"role": role, "page": name, "url": url, "method": "POST" if data else "GET"}
        row.update(measure(by_role[role], url, data))
        rows.append(row)
    from django.db import connection

    db = connection.settings_dict
    with open(out, "w") as f:
        json.dump(
            {
                "pages": rows,
                "conn_max_age": db["CONN_MAX_AGE"],
                "conn_health_checks": db["CONN_HEALTH_CHECKS"],
            },
            f,
            indent=1,
        )
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            json.dump(sessions(), f)


if __name__ == "__main__":
    main()
