from concurrent.futures import ThreadPoolExecutor

from clinic import pdf
from clinic.pdf import render_pdf
from tests.pdf import pdf_text


def test_pdfs_carry_the_clinic_letterhead_and_their_content(settings):
    settings.CLINIC_NAME = "Harbour Health Cooperative"
    data = render_pdf("clinic/pdf/sample.html", {"title": "Sample", "body": "Ünïcode body"})
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Harbour Health Cooperative" in text
    assert "Ünïcode body" in text


def test_documents_rendered_one_after_another_and_in_threads_each_carry_their_own_text():
    bodies = [f"Document {n} ünïcode" for n in range(4)]

    def render(body: str) -> bytes:
        return render_pdf("clinic/pdf/sample.html", {"title": body, "body": body})

    one_after_another = [render(body) for body in bodies]
    with ThreadPoolExecutor(2) as pool:
        at_once = list(pool.map(render, bodies))
    for body, first, second in zip(bodies, one_after_another, at_once, strict=True):
        assert body in pdf_text(first)
        assert body in pdf_text(second)
        assert not any(other in pdf_text(first) for other in bodies if other != body)


def test_each_thread_keeps_its_own_font_configuration():
    # Kept across a thread's documents; never shared with another thread (Pango's font
    # maps are not thread-safe).
    assert pdf._font_config() is pdf._font_config()
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(pdf._font_config).result()
    assert other is not pdf._font_config()
