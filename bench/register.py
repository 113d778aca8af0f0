"""The register PDF export's time and peak memory, alone in its own process.

DJANGO_SETTINGS_MODULE=bench.settings python -m bench.register OUT.json
"""

import json
import resource
import sys
import time

import django


def main() -> None:
    django.setup()
    from django.contrib.auth import get_user_model

    from members import services
    from members.models import Member, RegisterExport

    admin = get_user_model().objects.get(email="admin@bench.coop")
    export = RegisterExport.objects.create(requested_by=admin)
    Member.objects.count()  # connect and warm up before the baseline
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    services.register_export_render(export_id=export.pk)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    export.refresh_from_db()
    result = {
        "members": Member.objects.filter(number__isnull=False).count(),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "baseline_rss_mb": round(before_kb / 1024, 1),
        "pdf_bytes": export.file.size if export.file else 0,
    }
    with open(sys.argv[1], "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
