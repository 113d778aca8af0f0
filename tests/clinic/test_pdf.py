from clinic.pdf import render_pdf
from tests.pdf import pdf_text


def test_pdfs_carry_the_clinic_letterhead_and_their_content(settings):
    settings.CLINIC_NAME = "Harbour Health Cooperative"
    data = render_pdf("clinic/pdf/sample.html", {"title": "Sample", "body": "Ünïcode body"})
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Harbour Health Cooperative" in text
    assert "Ünïcode body" in text
