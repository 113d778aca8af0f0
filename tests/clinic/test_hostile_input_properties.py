"""Hostile input never 500s (issue 11): property-based tests with hypothesis.

Every form of every app, every query parameter of every list page, and every import get
random and hostile values (very long, unicode, NUL bytes, HTML, formulas, negative and
huge numbers, impossible dates). The answer is a field error, a 400 or a normal page that
ignores the value; never an exception (the test client re-raises what would be a 500) and
never a partial write. The forms, pages and parameters are found by walking the apps'
forms modules, the URL resolver and the views' source, so a new one is covered the day it
is added.

A few examples each by default; ``CLINIC_LONG_PROPERTIES=1`` runs many more.
"""

import datetime
import importlib
import inspect
import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import MaxValueValidator
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import CoverEnrolment
from clinic.params import MAX_BIGINT
from clinic.roles import Role
from members.imports import COLUMNS
from members.models import Member
from tests.arcs.factories import ArcFactory, CareSetting
from tests.billing.factories import ContractFactory
from tests.factories import user_with_role
from tests.governance.factories import motion
from tests.members.factories import MemberFactory

pytestmark = pytest.mark.django_db

APPS = ["arcs", "billing", "careteam", "governance", "members"]
BASE_DIR = Path(__file__).resolve().parent.parent.parent
LONG = os.environ.get("CLINIC_LONG_PROPERTIES") == "1"
PROPERTY = settings(
    max_examples=200 if LONG else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "0",
    "-1",
    "+1",
    "1e309",
    "NaN",
    "Infinity",
    "1_000",
    "²",
    "١٢",
    "99999999999999999999999999999",
    str(2**31),
    str(2**63),
    "-" + str(2**63 + 1),
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "2026-02-30",
    "2026-13",
    "0001-01",
    "9999-12",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "=1+1",
    "+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\t=1",
    "'; DROP TABLE members_member; --",
    "%00",
    "../../etc/passwd",
    "\u202egnp.exe",
    "\uff46\uff55\uff4c\uff4c",
    "🙂" * 3,
    "x" * 10_000,
    "9" * 5000,
]
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.dates().map(datetime.date.isoformat),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


# --- Forms ------------------------------------------------------------------------------


def all_forms() -> list[type[forms.BaseForm]]:
    found = []
    for app in APPS:
        module = importlib.import_module(f"{app}.forms")
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, forms.BaseForm)
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")
                # A model form without a model is a base class; its subclasses are tested.
                and not (issubclass(obj, forms.BaseModelForm) and obj._meta.model is None)
            ):
                found.append(obj)
    return found


def _measurement():
    from arcs.models import Measurement, OutcomeMeasure

    arc = ArcFactory()
    return Measurement.objects.create(
        arc=arc,
        measure=OutcomeMeasure.objects.get(slug="pain-score"),
        value=4,
        measured_on=arc.activated_on,
        recorded_by=arc.member.user,
    )


def form_kwargs(form_class) -> dict:
    """What a form needs besides its data (forms bound to one object)."""
    needs = {
        name
        for name, parameter in inspect.signature(form_class.__init__).parameters.items()
        if parameter.kind == parameter.KEYWORD_ONLY and parameter.default is parameter.empty
    }
    known = {
        "arc": lambda: ArcFactory(),
        "ballot": lambda: motion(),
        "member": lambda: MemberFactory(),
        "measurement": _measurement,
    }
    assert needs <= set(known), f"{form_class.__name__} needs {needs - set(known)}: add it"
    return {name: known[name]() for name in needs}


FORMS = all_forms()


def test_the_walk_finds_the_forms():
    names = {form.__name__ for form in FORMS}
    assert {"ShareSubscribeForm", "ValueReportForm", "BallotForm", "JoinForm"} <= names


@pytest.mark.parametrize("form_class", FORMS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_every_number_field_of_every_form_is_bounded(form_class):
    """An unbounded whole number reaches the database and fails there (a 500)."""
    form = form_class(**form_kwargs(form_class))
    model = getattr(getattr(form, "_meta", None), "model", None)
    for name, field in form.fields.items():
        if isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField):
            # A model form also runs its model field's validators.
            model_field = model and next(
                (f for f in model._meta.concrete_fields if f.name == name), None
            )
            limits = [field.max_value] + [
                v.limit_value
                for v in (model_field.validators if model_field else [])
                if isinstance(v, MaxValueValidator)
            ]
            assert any(limit is not None and limit <= MAX_BIGINT for limit in limits), name
        if isinstance(field, forms.DecimalField):
            assert field.max_digits is not None or field.max_value is not None, name


@pytest.mark.parametrize("form_class", FORMS, ids=lambda f: f"{f.__module__}.{f.__name__}")
@PROPERTY
@given(data=st.data())
def test_every_form_answers_hostile_values_with_field_errors(form_class, data):
    form = form_class(**form_kwargs(form_class))
    names = list(form.fields)
    values = data.draw(st.fixed_dictionaries({name: HOSTILE for name in names}))
    files = {
        name: SimpleUploadedFile("upload.csv", values[name].encode("utf-8", "surrogatepass"))
        for name, field in form.fields.items()
        if isinstance(field, forms.FileField)
    }
    bound = form_class(values, files, **form_kwargs(form_class))
    if bound.is_valid():
        for value in bound.cleaned_data.values():
            if isinstance(value, str):
                assert "\x00" not in value
            if isinstance(value, int):
                assert abs(value) <= MAX_BIGINT


# --- Query parameters of every list -----------------------------------------------------


def list_urls() -> list[str]:
    """Every page without arguments in the URL (the lists, dashboards and reports)."""
    names = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif (
                isinstance(pattern, URLPattern)
                and pattern.name
                and not pattern.pattern.converters
                and pattern.callback.__module__.split(".")[0] in APPS
            ):
                names.append(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return sorted(set(names))


def query_parameter_names() -> list[str]:
    """Every name a view reads from ``request.GET``, directly or through a bound form."""
    names = set()
    for app in APPS:
        source = (BASE_DIR / app / "views.py").read_text()
        names |= set(re.findall(r"request\.GET(?:\.get\(|\[)\s*\"(\w+)\"", source))
        names |= set(re.findall(r"_id_param\(request,\s*\"(\w+)\"", source))
        views = importlib.import_module(f"{app}.views")
        for form_name in re.findall(r"([\w.]+Form)\(\s*request\.GET", source):
            form_class = eval(form_name, vars(views))  # noqa: S307 - a name from our source
            names |= set(form_class.base_fields)
    return sorted(names)


PARAMETERS = query_parameter_names()


def test_the_walk_finds_the_lists_and_their_parameters():
    assert {"discipline", "practitioner", "page", "start", "end", "q", "sort", "for"} <= set(
        PARAMETERS
    )
    assert {"members:register", "careteam:consultation_list", "arcs:arc_list"} <= set(list_urls())


@pytest.fixture
def role_clients(client_factory):
    care = CareSetting()
    users = [
        user_with_role(Role.ADMINISTRATOR),
        care.hub.user,
        care.clinician.user,
        care.member.user,
        user_with_role(Role.ANCHOR_CONTACT),
    ]
    clients = []
    for user in users:
        client = client_factory()
        client.force_login(user)
        clients.append(client)
    return clients


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


# Keyed by the fixture's list, which the value keeps alive so that its id is never reused.
_readers: dict[tuple[int, str], tuple[list, list]] = {}


def readers(clients, url):
    """(client, method) for each role the route does not turn away before reading any
    parameter: GET, or POST for a route that only accepts POST. Found once per test."""
    key = (id(clients), url)
    if key not in _readers:
        found = []
        for client in clients:
            send = client.get if client.get(url).status_code != 405 else client.post
            response = send(url)
            to_login = response.status_code == 302 and "login" in response.url
            if response.status_code not in (403, 405) and not to_login:
                found.append(send)
        assert found, f"no role reaches {url}: give the test one"
        _readers[key] = (clients, found)
    return _readers[key][1]


# The values most likely to reach a query or a date computation raw.
SWEEP = [
    "\x00",
    "²",
    "-1",
    str(2**63),
    "9" * 5000,
    "0001-01",
    "9999-12",
    "2026-02-30",
    "<script>",
    "=1+1",
    "x" * 10_000,
    "NaN",
]


@pytest.mark.parametrize("name", list_urls())
def test_every_list_ignores_or_refuses_each_hostile_value_in_every_parameter(role_clients, name):
    url = reverse(name)
    for send in readers(role_clients, url):
        for value in SWEEP:
            response = send(f"{url}?{urlencode(dict.fromkeys(PARAMETERS, value))}")
            assert response.status_code < 500, (name, value)


@pytest.mark.parametrize("name", list_urls())
@settings(PROPERTY, max_examples=100 if LONG else 5)
@given(data=st.data())
def test_every_list_ignores_or_refuses_hostile_query_parameters(role_clients, name, data):
    url = reverse(name)
    params = data.draw(
        st.dictionaries(st.sampled_from(PARAMETERS), HOSTILE, min_size=1, max_size=4)
    )
    for send in readers(role_clients, url):
        response = send(f"{url}?{urlencode(params)}")
        assert response.status_code < 500, (name, params)


# --- Imports ----------------------------------------------------------------------------

CSV_CELL = HOSTILE.filter(lambda v: "\x00" not in v and len(v) < 2000)


@PROPERTY
@given(rows=st.lists(st.tuples(CSV_CELL, CSV_CELL, CSV_CELL), min_size=1, max_size=5))
def test_a_hostile_roster_upload_is_row_errors_and_never_a_partial_write(admin_client, rows):
    contract = ContractFactory()
    member = MemberFactory()
    lines = [f"{member.number},2026-01-01,"] + [
        ",".join(f'"{cell.replace(chr(34), chr(34) * 2)}"' for cell in row) for row in rows
    ]
    text = "member_number,covered_from,covered_to\n" + "\n".join(lines) + "\n"
    url = reverse("billing:roster_import", args=[contract.pk])
    upload = SimpleUploadedFile("roster.csv", text.encode("utf-8", "surrogatepass"))
    preview = admin_client.post(url, {"file": upload})
    assert preview.status_code < 500
    assert not CoverEnrolment.objects.filter(contract=contract).exists()
    form = preview.context and preview.context.get("form")
    signed = form["preview"].value() if form is not None else None
    if signed:
        admin_client.post(url, {"preview": signed, "confirm": "1"})
        imported = CoverEnrolment.objects.filter(contract=contract).count()
        assert imported in (0, 1 + len(rows)), "a roster is imported whole or not at all"


@PROPERTY
@given(
    rows=st.lists(
        st.lists(CSV_CELL, min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1, max_size=4
    )
)
def test_a_hostile_register_import_is_row_errors_and_never_a_partial_write(admin_client, rows):
    before = Member.objects.count()
    header = ",".join(COLUMNS)
    body = "\n".join(
        ",".join(f'"{cell.replace(chr(34), chr(34) * 2)}"' for cell in row) for row in rows
    )
    upload = SimpleUploadedFile(
        "batch.csv", (header + "\n" + body + "\n").encode("utf-8", "surrogatepass")
    )
    url = reverse("members:register_import")
    preview = admin_client.post(url, {"file": upload})
    assert preview.status_code < 500
    assert Member.objects.count() == before
    confirm = preview.context and preview.context.get("confirm")
    if confirm:
        admin_client.post(url, {"confirm": confirm})
        assert Member.objects.count() in (before, before + len(rows))


@pytest.fixture
def admin_client(client):
    client.force_login(user_with_role(Role.ADMINISTRATOR))
    return client


# --- Every form POST: a rejected submission writes nothing -------------------------------

# Roles that open the pages with forms, with the route matrix's records (each role's object
# URLs carry records it may open, see test_route_matrix.SIDE).
POSTING_ROLES = ("admin", "member_a", "clinician_in", "hub", "anchor_a")
# Each form is posted with every field set to one of these; LONG runs the whole sweep.
POSTED = SWEEP if LONG else ["\x00", "-1", "9999-12"]
# Written on purpose whatever the submission: who was shown clinical content (a rejected
# form's page shows it again) is recorded in the access log.
EXPECTED_WRITES = {"arcs_accesslogentry"}
FORM_TAG = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ACTION = re.compile(r'\baction="([^"]*)"', re.I)
FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)


def _app_tables() -> list[str]:
    from django.apps import apps

    return sorted(
        model._meta.db_table
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if model._meta.managed and not model._meta.proxy
    )


def table_checksums() -> tuple:
    """Per table of the apps: row count and a hash of every row's contents, in one query
    (so an UPDATE is seen, not only an INSERT or a DELETE)."""
    from django.db import connection

    quote = connection.ops.quote_name
    # The models' own table names, quoted: nothing here comes from a request.
    columns = ", ".join(
        f"(SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) "  # noqa: S608
        f"FROM {quote(table)} t)"
        for table in _app_tables()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        return tuple(zip(_app_tables(), cursor.fetchone(), strict=True))


def post_forms(client, world: dict, role: str) -> dict[str, set[str]]:
    """{action: field names} of every POST form on every page ``role`` opens, whose view is
    one of the apps' (found by walking the URL patterns with the route matrix's records)."""
    import html

    from django.db import transaction
    from django.urls import Resolver404, resolve

    from tests.clinic.test_route_matrix import fill, route_for, url_kwargs, walk

    found: dict[str, set[str]] = {}
    for route_text, name, keys in walk(get_resolver().url_patterns):
        if route_text.startswith("django-admin") or not name:
            continue
        path = fill(
            route_text, url_kwargs(route_for(route_text, name), keys, role=role, world=world)
        )
        with transaction.atomic():
            response = client.get(path)
            transaction.set_rollback(True)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for attributes, body in FORM_TAG.findall(response.content.decode()):
            if 'method="post"' not in attributes.lower():
                continue
            action = ACTION.search(attributes)
            action = html.unescape(action.group(1)) if action and action.group(1) else path
            try:
                view = resolve(action.split("?")[0]).func
            except Resolver404:
                continue
            if view.__module__.split(".")[0] not in APPS:
                continue
            names = set(FIELD.findall(body)) - {"csrfmiddlewaretoken"}
            found.setdefault(action, set()).update(names)
    return found


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker, media_root):
    """The route matrix's records, built once for the module and rolled back after it."""
    from django.db import transaction
    from django.test import override_settings

    from tests.clinic.test_route_matrix import build_world

    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.mark.parametrize("role", POSTING_ROLES)
def test_a_rejected_form_post_changes_no_table(matrix_world, role):
    """Every form on every page, posted with hostile values in every field: when the
    submission is not accepted (no redirect), no table of the apps has changed."""
    from django.db import transaction
    from django.test import Client

    client = Client()
    client.force_login(matrix_world["users"][role])
    forms_found = post_forms(client, matrix_world, role)
    assert forms_found, f"{role} sees no form"
    for action, names in sorted(forms_found.items()):
        for value in POSTED:
            with transaction.atomic():
                before = table_checksums()
                response = client.post(action, dict.fromkeys(names, value))
                after = table_checksums()
                transaction.set_rollback(True)
            if response.status_code in (301, 302, 303):
                continue  # accepted (or refused with a message on the next page)
            changed = [
                b[0]
                for b, a in zip(before, after, strict=True)
                if b != a and b[0] not in EXPECTED_WRITES
            ]
            assert not changed, (
                f"{role}: POST {action} with {value[:20]!r} answered "
                f"{response.status_code} but changed {changed}"
            )
