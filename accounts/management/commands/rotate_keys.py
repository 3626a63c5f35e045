"""`manage.py rotate_keys`: after a new key was put first in FIELD_ENCRYPTION_KEY or
FILE_ENCRYPTION_KEY (or FIELD_HASH_KEY changed), re-encrypt every encrypted column under the first
key, recompute every lookup hash, and seal every stored file under the first file key. Files
stored in clear before files were encrypted are sealed too. Safe to run again; the old keys can be
removed from the settings once it has run."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import CitizenProfile, User
from accounts.services import id_number_hash
from cases import uploads
from cases.models import Case, Notification


class Command(BaseCommand):
    help = (
        "Re-encrypt personal data and stored files under the first keys; recompute lookup hashes."
    )

    def handle(self, *args, **options):
        counts = {}
        with transaction.atomic():
            for profile in CitizenProfile.objects.select_for_update().iterator():
                profile.id_number_hash = id_number_hash(profile.id_number)
                profile.save(update_fields=["id_number", "id_number_hash", "phone"])
            counts["people"] = CitizenProfile.objects.count()
            for user in User.objects.select_for_update().exclude(email_hash="").iterator():
                user.save(update_fields=["email"])  # saves email_hash too
            counts["accounts"] = User.objects.exclude(email_hash="").count()
            rows = 0
            for case in Case.objects.select_for_update().only("pk", "data").iterator():
                Case.objects.filter(pk=case.pk).update(data=case.data)
                rows += 1
            counts["applications"] = rows
            rows = 0
            for message in Notification.objects.only("pk", "address").iterator():
                if message.address:
                    Notification.objects.filter(pk=message.pk).update(address=message.address)
                    rows += 1
            counts["messages"] = rows
        sealed, current = uploads.encrypt_existing()
        counts["files sealed"], counts["files already current"] = sealed, current
        for what, count in counts.items():
            self.stdout.write(f"{what}: {count}")
