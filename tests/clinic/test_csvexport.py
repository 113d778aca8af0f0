import csv
import io

import pytest

from clinic.csvexport import csv_writer


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_become_text(cell):
    out = io.StringIO()
    csv_writer(out).writerow([cell, "plain", 5, -5])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + cell, "plain", "5", "-5"]
