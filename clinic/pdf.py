"""PDF documents rendered from templates with WeasyPrint (in Celery workers, not requests)."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string


def _static_fetcher(url: str, *args, **kwargs):
    """Serve ``/static/...`` from the static finders so PDFs need no running web server."""
    from weasyprint.urls import default_url_fetcher

    if url.startswith("file://"):
        return default_url_fetcher(url, *args, **kwargs)
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    path = url.split(prefix, 1)[-1] if prefix in url else None
    found = finders.find(path) if path else None
    if found:
        return default_url_fetcher(f"file://{found}", *args, **kwargs)
    return default_url_fetcher(url, *args, **kwargs)


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
    return weasyprint.HTML(
        string=html, base_url="http://clinic.invalid/", url_fetcher=_static_fetcher
    ).write_pdf()
