from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, restore_archive


class Command(BaseCommand):
    help = (
        "Restore a backup archive into an empty database and media directory, then check "
        "every table's row count and every file's checksum against its manifest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive", type=Path, help="a clinic-*.tar.gz written by backup")
        parser.add_argument(
            "--force",
            action="store_true",
            help="delete everything in a database or media directory that is not empty first",
        )

    def handle(self, *args, archive: Path, force: bool, **options) -> None:
        if not archive.is_file():
            raise CommandError(f"No such archive: {archive}")
        try:
            report = restore_archive(archive=archive, force=force, log=self.stdout.write)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write("Checked against the archive's manifest, all equal:")
        for line in report.checked:
            self.stdout.write(f"  - {line}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {archive}. If this code is newer than the backup, run bin/migrate."
            )
        )
