"""PDFs load the clinic's own static files and nothing else (no local files, no network)."""

import http.server
import threading
from pathlib import Path

import pytest

from clinic.pdf import render_pdf
from tests.pdf import pdf_text

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture
def assets(settings, tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "marker.css").write_text('.marker::before { content: "STATIC-CSS-APPLIED "; }')
    outside = tmp_path / "outside.css"
    outside.write_text('.marker::after { content: " LOCAL-FILE-READ"; }')
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, str(static)]
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], str(TEMPLATES)]}
    ]
    return outside


@pytest.fixture
def web_server():
    """A real HTTP server on loopback that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = b'.marker::after { content: " NETWORK-CSS-READ"; }'
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def test_pdf_uses_the_apps_own_static_files(assets):
    data = render_pdf("pdf_assets.html", {"stylesheets": ["/static/marker.css"]})
    assert "STATIC-CSS-APPLIED" in pdf_text(data)


def test_pdf_refuses_local_files_and_network_addresses(assets, web_server):
    address, requests = web_server
    data = render_pdf(
        "pdf_assets.html",
        {
            "stylesheets": [
                assets.as_uri(),
                f"{address}/evil.css",
                "/static/../../../etc/passwd",
            ]
        },
    )
    text = pdf_text(data)
    assert "Body" in text
    assert "LOCAL-FILE-READ" not in text
    assert "NETWORK-CSS-READ" not in text
    assert requests == []
