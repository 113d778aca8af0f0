"""PDF documents rendered from templates with WeasyPrint (in Celery workers, not requests)."""

import mimetypes
import threading

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

# Relative URLs in templates resolve against this host, which does not exist: the fetcher
# below answers for it from the static finders and refuses every other address.
PDF_BASE_URL = "http://clinic.invalid/"


def _static_path(url: str) -> str | None:
    """The file behind a ``/static/...`` URL of the PDF's own base URL, if one exists."""
    prefix = f"{PDF_BASE_URL.rstrip('/')}/{settings.STATIC_URL.strip('/')}/"
    if not url.startswith(prefix):
        return None
    relative = url.removeprefix(prefix).split("?", 1)[0].split("#", 1)[0]
    if not relative or ".." in relative.split("/"):
        return None
    return finders.find(relative)


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves the app's own static files and ``data:`` URIs; refuses files and network.

        A member's name or an uploaded text that reaches a template can therefore never make
        the worker read a local file or call another server.
        """

        def fetch(self, url: str, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = _static_path(url)
            if path is None:
                raise ValueError(f"PDFs may only use the clinic's static files, not {url[:80]}")
            with open(path, "rb") as handle:
                body = handle.read()
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return StaticOnlyFetcher()


_fonts = threading.local()


def _font_config():
    """This thread's WeasyPrint font configuration, made once and kept for its documents.

    A new one per document (WeasyPrint's default) loads the system's fonts again each time:
    an invoice rendered in 61-83 ms with a new one took 48-52 ms with a kept one. Pango's
    font maps are not shared between threads, so each thread (a request thread, a worker
    thread) keeps its own. A font a document adds with ``@font-face`` (only from the
    clinic's static files, through the fetcher) is added once per rule and stays for the
    thread's later documents; no template declares one.
    """
    config = getattr(_fonts, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _fonts.config = FontConfiguration()
    return config


def render_pdf(template_name: str, context: dict) -> bytes:
    """Render a template that extends ``pdf/base.html`` into PDF bytes."""
    import weasyprint

    context = {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_ADDRESS": settings.CLINIC_ADDRESS,
        "CLINIC_TAX_ID": settings.CLINIC_TAX_ID,
        "CLINIC_CURRENCY": settings.CLINIC_CURRENCY,
        **context,
    }
    html = render_to_string(template_name, context)
    return weasyprint.HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=_fetcher()).write_pdf(
        font_config=_font_config()
    )
