from django.core.management.base import BaseCommand

from cases.retention import purge

LABELS = {
    "drafts_warned": "drafts whose applicant is told they will be removed",
    "drafts_purged": "drafts purged (data and documents removed, trail kept)",
    "notifications_purged": "messages whose words and address are removed",
    "cases_archived": "closed cases archived after their retention period",
    "documents_removed": "uploaded documents removed with them",
    "sharing_snapshots_removed": "registry answers kept for staff (共享数据快照) removed with their case",
    "bundle_drafts_warned": "bundle drafts (一件事) whose applicant is told they will be removed",
    "bundle_drafts_purged": "bundle drafts purged (combined answers and uploads removed)",
    "bundles_purged": "bundles whose combined answers and uploads are removed: every member archived",
    "profiles_cleared": "people without an account whose name, phone and ID number are removed",
}


class Command(BaseCommand):
    help = (
        "Apply the retention rules (cases/retention.py): warn and purge stale drafts, empty old "
        "messages, archive closed cases past their service's retention period (保管期限) with "
        "their registry snapshots, purge stale bundle drafts and the bundles (一件事) whose "
        "members are all archived, clear people no case needs any more. The beat task runs it daily. --dry-run prints the counts "
        "of what would go and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; change nothing."
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        report = purge(dry_run=dry_run).as_dict()
        self.stdout.write("Would purge (dry run):" if dry_run else "Purged:")
        for key, count in report.items():
            self.stdout.write(f"  {count:6d}  {LABELS[key]}")
