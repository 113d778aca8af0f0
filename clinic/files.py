"""Serving stored files (PDFs, uploads): one helper for every download view.

A file the database names can be gone from storage (a restore without the media volume, a
bucket cleaned by hand). The download then answers 404 instead of failing with a 500; a
document the clinic can render again is queued for rendering, and the page says so.
"""

import logging
from collections.abc import Callable

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def stored_file_response(
    request: HttpRequest,
    file: FieldFile,
    *,
    filename: str,
    as_attachment: bool = True,
    content_type: str = "application/pdf",
    regenerate: Callable[[], None] | None = None,
    not_ready: str = "",
) -> HttpResponse:
    """``file`` as a download; 404 when there is none yet (``not_ready`` says why) or when
    storage has lost it. ``regenerate`` is called in that case to render it again."""
    if not file:
        raise Http404(not_ready)
    try:
        handle = file.open("rb")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        logger.error("Stored file %s is missing from storage", file.name)
        if regenerate is None:
            raise Http404("The stored file is missing.") from None
        regenerate()
        return render(request, "clinic/file_regenerating.html", status=404)
    return FileResponse(
        handle, as_attachment=as_attachment, filename=filename, content_type=content_type
    )
