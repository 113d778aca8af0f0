"""The register PDF at scale: rendered in chunks and merged, numbered through, and no
lock on the export held while it renders."""

import io
import threading
import time

import psycopg
import pytest
from django.db import connection

from members import services
from members.models import RegisterExport
from tests.conftest import _database_url
from tests.factories import UserFactory
from tests.members.factories import MemberFactory
from tests.pdf import pdf_text


def _render(export: RegisterExport, **kwargs) -> bytes:
    services.register_export_render(export_id=export.pk, **kwargs)
    export.refresh_from_db()
    with export.file.open("rb") as f:
        return f.read()


@pytest.mark.django_db
def test_register_rendered_in_chunks_lists_every_member_once_in_order_numbered_through():
    from pypdf import PdfReader

    members = [MemberFactory(number=n, user__first_name=f"Person{n:02d}") for n in range(1, 8)]
    export = RegisterExport.objects.create(requested_by=UserFactory())
    data = _render(export, chunk_size=2)
    text = pdf_text(data)
    positions = [text.index(f"Person{m.number:02d}") for m in members]
    assert positions == sorted(positions)
    assert all(text.count(f"Person{m.number:02d}") == 1 for m in members)
    # One heading for the whole register, not one per chunk.
    assert text.count("Register of members") == 1
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) == 4
    for n, page in enumerate(pages, start=1):
        assert f"{n} / {len(pages)}" in page.extract_text()


@pytest.mark.django_db
def test_a_register_already_stored_is_kept():
    MemberFactory(number=1)
    export = RegisterExport.objects.create(requested_by=UserFactory())
    first = _render(export)
    name = export.file.name
    services.register_export_render(export_id=export.pk)
    export.refresh_from_db()
    assert export.file.name == name
    assert first


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_lock_is_held_on_the_export_while_the_register_renders():
    assert connection.vendor == "postgresql"
    for n in range(1, 31):
        MemberFactory(number=n)
    export = RegisterExport.objects.create(requested_by=UserFactory())
    finished: list[float] = []

    def render() -> None:
        from django.db import connection as thread_connection

        try:
            # One member per chunk: thirty WeasyPrint renders, time to try the lock often.
            services.register_export_render(export_id=export.pk, chunk_size=1)
        finally:
            finished.append(time.monotonic())
            thread_connection.close()

    samples: list[tuple[float, bool]] = []
    worker = threading.Thread(target=render)
    worker.start()
    with psycopg.connect(_database_url()) as other:
        while worker.is_alive():
            try:
                other.execute(
                    "SELECT id FROM members_registerexport WHERE id = %s FOR UPDATE NOWAIT",
                    [export.pk],
                )
                samples.append((time.monotonic(), True))
            except psycopg.errors.LockNotAvailable:
                samples.append((time.monotonic(), False))
            other.rollback()
            time.sleep(0.02)
    worker.join()
    export.refresh_from_db()
    assert export.file
    # The row is locked only for the moment the finished file is stored.
    while_rendering = [ok for at, ok in samples if at < finished[0] - 0.3]
    assert len(while_rendering) >= 3
    assert all(while_rendering)
