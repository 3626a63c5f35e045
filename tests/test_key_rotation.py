"""Keys rotate (DESIGN "Data protection"): put a new key first, run `manage.py rotate_keys`, drop
the old one, and every ID number, phone, e-mail address, form, message address and stored file
still reads, and people are still found by their numbers. Files stored in clear before files were
encrypted are sealed by the same command."""

import base64
import io
import os

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings
from PIL import Image

from accounts import services
from accounts.crypto import lookup_hash
from accounts.models import CitizenProfile, User
from cases import uploads, workflow
from cases.models import Attachment, Case, Notification

from .factories import CitizenProfileFactory, make_service


def file_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def png_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, format="PNG")
    return SimpleUploadedFile("red.png", out.getvalue(), content_type="image/png"), out.getvalue()


@pytest.mark.django_db
def test_everything_reads_after_the_keys_are_rotated_and_the_old_ones_removed(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_file, new_file = file_key(), file_key()
    with override_settings(
        FIELD_ENCRYPTION_KEY=old, FILE_ENCRYPTION_KEY=old_file, PRIVATE_MEDIA_ROOT=tmp_path
    ):
        profile = CitizenProfileFactory(phone="13612345678", user__email="rotate@example.org")
        service = make_service("ROT-1").service
        case, _ = workflow.create_draft(service=service, user=profile.user, data={"shop_area": 7})
        upload, clear_bytes = png_upload()
        material = service.current_version.materials.get()
        attachment = workflow.add_attachment(
            case=case, material_id=material.pk, user=profile.user, upload=upload
        )
        case = workflow.submit_application(case=case, user=profile.user)
        messages = sum(1 for n in Notification.objects.filter(case=case) if n.address)
        legacy = tmp_path / "legacy" / "old.png"  # stored in clear before files were sealed
        legacy.parent.mkdir()
        legacy.write_bytes(clear_bytes)
    assert messages > 0

    with override_settings(
        FIELD_ENCRYPTION_KEY=f"{new},{old}",
        FILE_ENCRYPTION_KEY=f"{new_file},{old_file}",
        PRIVATE_MEDIA_ROOT=tmp_path,
    ):
        out = io.StringIO()
        call_command("rotate_keys", stdout=out)
        assert "files sealed: 2" in out.getvalue()  # the upload (old key) and the clear file

    with override_settings(
        FIELD_ENCRYPTION_KEY=new, FILE_ENCRYPTION_KEY=new_file, PRIVATE_MEDIA_ROOT=tmp_path
    ):
        again = CitizenProfile.objects.get(pk=profile.pk)
        assert (again.phone, again.user.email) == ("13612345678", "rotate@example.org")
        assert services.find_citizen_by_id_number(profile.id_number) == again
        assert CitizenProfile.objects.get(phone_hash=lookup_hash("13612345678")) == again
        assert User.objects.get(email_hash=lookup_hash("rotate@example.org")) == profile.user
        assert Case.objects.get(pk=case.pk).data["shop_area"] == 7
        assert sum(1 for n in Notification.objects.filter(case=case) if n.address) == messages
        stored = Attachment.objects.get(pk=attachment.pk).stored_name
        assert uploads.read_stored(stored) == clear_bytes
        assert uploads.is_sealed(legacy.read_bytes())
        assert uploads.read_stored("legacy/old.png") == clear_bytes
        # Running it again finds everything current.
        out = io.StringIO()
        call_command("rotate_keys", stdout=out)
        assert "files sealed: 0" in out.getvalue()

    # Without the new keys nothing can be read: the old ones are really gone from the data.
    with override_settings(
        FIELD_ENCRYPTION_KEY=old, FILE_ENCRYPTION_KEY=old_file, PRIVATE_MEDIA_ROOT=tmp_path
    ):
        with pytest.raises(Exception, match="cannot be decrypted"):
            CitizenProfile.objects.get(pk=profile.pk)
        with pytest.raises(Exception, match="cannot be decrypted"):
            uploads.read_stored(stored)


def test_a_malformed_file_key_is_refused_with_advice():
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(FILE_ENCRYPTION_KEY="not-a-key"),
        pytest.raises(ImproperlyConfigured, match="FILE_ENCRYPTION_KEY"),
    ):
        uploads.seal(b"x")
