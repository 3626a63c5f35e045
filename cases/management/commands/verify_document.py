from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cases.signing import verify_pdf


class Command(BaseCommand):
    help = (
        "Check a PDF: is it sealed by one of our departments, unchanged since, and exactly a "
        "document or e-licence the portal issued. Exit status 0 when genuine, 1 when not."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The PDF to check.")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        verdict = verify_pdf(data)
        write = self.stdout.write
        write(f"File:     {path} (SHA-256 {verdict.sha256})")
        if verdict.signed:
            write(f"Sealed:   {verdict.signer or '?'}")
            if verdict.signed_at:
                write(
                    f"          at {timezone.localtime(verdict.signed_at):%Y-%m-%d %H:%M} (as the signer says)"
                )
            write(f"Unchanged since sealing: {'yes' if verdict.intact else 'NO'}")
        else:
            write("Sealed:   no")
        if verdict.issued is not None:
            issued = verdict.issued
            what = "e-licence" if verdict.issued_kind == "licence" else "document"
            write(
                f"Issued:   {what} {issued.number} on {timezone.localtime(issued.issued_at):%Y-%m-%d}"
            )
        for problem in verdict.problems:
            write(self.style.ERROR(f"Problem:  {problem}"))
        if verdict.valid:
            write(self.style.SUCCESS("Genuine: this is the document the portal issued, unchanged."))
            return
        raise CommandError("Not genuine, or not issued by the portal: see the problems above.")
