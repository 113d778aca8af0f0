"""Reading uploaded CSV files: one set of limits and messages for every import."""

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _


def read_csv_upload(upload) -> str:
    """The upload as text, or a field error: too large, not UTF-8, or holding NUL bytes."""
    limit = settings.CLINIC_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            _("The file is too large (%(size)d kB at most).") % {"size": limit // 1000}
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise forms.ValidationError(
            _("The file is too large (%(size)d kB at most).") % {"size": limit // 1000}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
    if "\x00" in text:
        raise forms.ValidationError(_("The file holds binary data (NUL bytes): upload CSV text."))
    return text


# A previewed file travels back with the confirmation signed, so what is imported is
# exactly what was previewed.
def sign_preview(text: str, *, salt: str) -> str:
    return signing.dumps(text, salt=salt, compress=True)


def unsign_preview(token: str, *, salt: str) -> str | None:
    try:
        return signing.loads(token, salt=salt, max_age=3600)
    except signing.BadSignature:
        return None
