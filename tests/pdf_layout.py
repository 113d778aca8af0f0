"""Where text sits on a PDF page, read back with pypdf's text visitor (in millimetres from
the top-left corner of the page, as a ruler on the printed sheet would measure it)."""

import io

from pypdf import PdfReader

POINTS_PER_MM = 72 / 25.4


def text_positions(data: bytes, *, page: int = 0) -> list[tuple[str, float, float]]:
    """(text, mm from the left edge, mm from the top edge of its baseline) of each run."""
    reader = PdfReader(io.BytesIO(data))
    sheet = reader.pages[page]
    height = float(sheet.mediabox.height)
    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if not text.strip():
            return
        # The text matrix placed by the current transformation matrix, in points.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.append((text.strip(), x / POINTS_PER_MM, (height - y) / POINTS_PER_MM))

    sheet.extract_text(visitor_text=visit)
    return runs


def positions_of(data: bytes, needle: str, *, page: int = 0) -> list[tuple[float, float]]:
    """Where each run holding ``needle`` sits (a name may be on the page more than once)."""
    found = [(left, top) for text, left, top in text_positions(data, page=page) if needle in text]
    assert found, f"{needle!r} is not on page {page + 1}"
    return found


# DIN 5008 type B: the address field of a window envelope (C5/6, DL).
WINDOW_LEFT, WINDOW_TOP, WINDOW_WIDTH, WINDOW_HEIGHT = 20, 45, 85, 45


def in_window(left: float, top: float) -> bool:
    """A baseline inside the window: at least a line's height below its top edge."""
    return (
        WINDOW_LEFT <= left <= WINDOW_LEFT + WINDOW_WIDTH
        and WINDOW_TOP + 2 <= top <= WINDOW_TOP + WINDOW_HEIGHT
    )
