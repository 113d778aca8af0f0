from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write one archive of the database and the stored media (PDFs, uploads), with a "
        "manifest of row counts and checksums, into BACKUP_DIR."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--directory", type=Path, default=None, help="instead of BACKUP_DIR")

    def handle(self, *args, directory: Path | None, **options) -> None:
        try:
            archive = backup_create(
                directory=directory or Path(settings.BACKUP_DIR), log=self.stdout.write
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        size = archive.stat().st_size
        self.stdout.write(self.style.SUCCESS(f"Backup written: {archive} ({size:,} bytes)."))
        self.stdout.write(
            "It holds every member's records: copy it off this machine to storage only the "
            "clinic controls, encrypted."
        )
