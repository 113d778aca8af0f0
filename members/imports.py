"""Reading a batch of new members from CSV, with every error named by row and column."""

import csv
import datetime
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import FeePlan

COLUMNS = [
    "first_name",
    "last_name",
    "email",
    "date_of_birth",
    "address",
    "phone",
    "preferred_language",
    "fee_plan",
    "admitted_on",
]
REQUIRED = {"first_name", "last_name", "email", "date_of_birth", "address"}
MAX_ROWS = 5000


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    date_of_birth: datetime.date | None = None
    address: str = ""
    phone: str = ""
    preferred_language: str = ""
    fee_plan: FeePlan | None = None
    admitted_on: datetime.date | None = None


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    # (row number in the file, column, message); row 1 is the header.
    errors: list[tuple[int, str, str]]


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}
        ) from None


def parse_member_import(text: str) -> ImportPreview:
    """Check every row; nothing is written here."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return ImportPreview(
            rows=[],
            errors=[(1, name, _("This column is missing from the header.")) for name in missing],
        )
    plans = {plan.name.casefold(): plan for plan in FeePlan.objects.all()}
    languages = dict(settings.LANGUAGES)
    rows_values = [
        {key.strip(): (value or "").strip() for key, value in raw.items() if key} for raw in reader
    ]
    if len(rows_values) > MAX_ROWS:
        return ImportPreview(
            rows=[],
            errors=[(1, "", _("At most %(n)s rows can be imported at once.") % {"n": MAX_ROWS})],
        )
    emails = [values.get("email", "").casefold() for values in rows_values]
    registered = set(
        get_user_model()
        .objects.filter(email__in=[e for e in emails if e])
        .values_list("email", flat=True)
    )
    registered = {email.casefold() for email in registered}
    seen: dict[str, int] = {}
    rows = []
    today = timezone.localdate()
    for index, values in enumerate(rows_values, start=2):
        row = ImportRow(line=index, values=values)
        for name in REQUIRED:
            if not values.get(name):
                row.errors[name] = _("This value is required.")
        row.first_name, row.last_name = values["first_name"], values["last_name"]
        row.address, row.phone = values["address"], values["phone"]
        email = values["email"]
        if email and "email" not in row.errors:
            try:
                validate_email(email)
            except ValidationError:
                row.errors["email"] = _("“%(value)s” is not an email address.") % {"value": email}
            else:
                key = email.casefold()
                if key in registered:
                    row.errors["email"] = _("Someone with this email is already registered.")
                elif key in seen:
                    row.errors["email"] = _("The same email is on row %(row)s.") % {
                        "row": seen[key]
                    }
                seen.setdefault(key, index)
                row.email = email
        for name in ("date_of_birth", "admitted_on"):
            if values[name]:
                try:
                    setattr(row, name, _date(values[name]))
                except ValidationError as error:
                    row.errors[name] = error.messages[0]
                else:
                    if getattr(row, name) > today:
                        row.errors[name] = _("This date is in the future.")
        row.admitted_on = row.admitted_on or today
        language = values["preferred_language"]
        if language and language not in languages:
            row.errors["preferred_language"] = _("Use one of: %(codes)s.") % {
                "codes": ", ".join(languages)
            }
        row.preferred_language = language
        if values["fee_plan"]:
            row.fee_plan = plans.get(values["fee_plan"].casefold())
            if row.fee_plan is None:
                row.errors["fee_plan"] = _("There is no fee plan named “%(value)s”.") % {
                    "value": values["fee_plan"]
                }
        rows.append(row)
    if not rows:
        return ImportPreview(rows=[], errors=[(1, "", _("The file has no rows to import."))])
    errors = [
        (row.line, column, message)
        for row in rows
        for column, message in sorted(row.errors.items(), key=lambda e: COLUMNS.index(e[0]))
    ]
    return ImportPreview(rows=rows, errors=errors)
