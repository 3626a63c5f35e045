from django.core.management.base import BaseCommand, CommandError

from cases.trail import check_trail


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of every case's event trail, check that each trail ends at its "
        "chain head, and check the latest signed trail digest; report every case that fails."
    )

    def handle(self, *args, **options):
        report = check_trail()
        problems = [
            f"Broken trail: case {broken.case_number}, event #{broken.sequence}: {broken.reason}."
            for broken in report.broken
        ]
        if report.digest_problem is not None:
            problems.append(
                f"Trail digest of {report.digest_problem.date.isoformat()} no longer matches: "
                f"{report.digest_problem.reason}."
            )
        if problems:
            raise CommandError("\n".join(problems))
        digest = (
            f"; the digest of {report.digest.date.isoformat()} ({report.digest.case_count} cases) "
            "still matches"
            if report.digest is not None
            else ""
        )
        self.stdout.write(f"Trail intact: {report.events} events checked{digest}.")
