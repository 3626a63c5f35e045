"""Stored files go through the configured storage (STORAGES["default"]; README "Running on more
than one box"), so that S3-compatible object storage (STORAGE_BACKEND=s3) serves every replica:
uploads, their download and deletion, issued documents (EncryptedStorage) and key rotation use
only the storage API, never a local path. Here the storage is swapped for one elsewhere on disk
and for Django's in-memory storage, which has no path at all; nothing may appear under
PRIVATE_MEDIA_ROOT, and what is stored is always sealed."""

import io
import os
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from cases import uploads, workflow

from .factories import CitizenProfileFactory, make_service


class ElsewhereStorage(FileSystemStorage):
    """A file system storage outside PRIVATE_MEDIA_ROOT that counts what the portal asks of it."""

    calls: list[str] = []

    def _save(self, name, content):
        self.calls.append("save")
        return super()._save(name, content)

    def _open(self, name, mode="rb"):
        self.calls.append("open")
        return super()._open(name, mode)

    def delete(self, name):
        self.calls.append("delete")
        return super().delete(name)


@pytest.fixture(params=["elsewhere", "in-memory"])
def storage(request, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    ElsewhereStorage.calls = []
    if request.param == "elsewhere":
        backend = {
            "BACKEND": "tests.test_storage.ElsewhereStorage",
            "OPTIONS": {"location": str(tmp_path / "elsewhere")},
        }
    else:
        backend = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    settings.STORAGES = {**settings.STORAGES, "default": backend}
    yield storages["default"]
    assert not (tmp_path / "private").exists() or not any((tmp_path / "private").rglob("*"))


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return SimpleUploadedFile("photo.png", out.getvalue(), content_type="image/png")


def _raw(storage, name: str) -> bytes:
    with storage.open(name, "rb") as handle:
        return handle.read()


def test_the_default_storage_is_the_private_folder(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    assert isinstance(storages["default"], uploads.PrivateFileSystemStorage)
    uploads.write_stored("ab/abc.png", b"clear")
    assert uploads.path_of("ab/abc.png").read_bytes().startswith(uploads.MAGIC)


@pytest.mark.django_db
def test_an_upload_is_stored_sealed_downloaded_and_discarded_through_the_storage(storage):
    service = make_service("STORE-1").service
    citizen = CitizenProfileFactory(real_name="王小明").user
    case, _ = workflow.create_draft(service=service, user=citizen, data={"shop_area": 3})
    material = service.current_version.materials.get()
    upload = _png()
    clear = upload.read()
    upload.seek(0)
    attachment = workflow.add_attachment(
        case=case, material_id=material.pk, user=citizen, upload=upload
    )
    name = attachment.stored_name
    assert storage.exists(name)
    raw = _raw(storage, name)
    assert raw.startswith(uploads.MAGIC)
    assert uploads.unseal(raw) == clear

    client = Client()
    client.force_login(citizen)
    response = client.get(f"/applications/{case.number}/documents/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == clear
    assert uploads.stored_exists(name)

    attachment.delete()
    assert uploads.delete_stored([name]) == [name]
    assert not storage.exists(name)
    assert not uploads.stored_exists(name)
    with pytest.raises(FileNotFoundError):
        uploads.read_stored(name)
    if isinstance(storage, ElsewhereStorage):
        assert {"save", "open", "delete"} <= set(storage.calls)


def test_issued_documents_are_sealed_in_the_configured_storage(storage):
    encrypted = uploads.private_storage()
    name = encrypted.save("documents/2026/X-1.pdf", ContentFile(b"%PDF-1.7 issued"))
    assert storage.exists(name)
    assert _raw(storage, name).startswith(uploads.MAGIC)
    with encrypted.open(name) as handle:
        assert handle.read() == b"%PDF-1.7 issued"
    encrypted.delete(name)
    assert not storage.exists(name)


@pytest.mark.django_db
def test_a_taken_name_is_refused_and_bad_names_never_reach_the_storage(storage):
    uploads.write_stored("ab/taken.png", b"first")
    with pytest.raises(FileExistsError):
        uploads.write_stored("ab/taken.png", b"second")
    assert uploads.read_stored("ab/taken.png") == b"first"
    for bad in ("../outside.png", "/etc/passwd", "ab/../../x"):
        with pytest.raises(ValueError):
            uploads.read_stored(bad)
        assert not uploads.stored_exists(bad)
    assert uploads.delete_stored(["../outside.png"]) == []


@pytest.mark.django_db
def test_key_rotation_seals_what_the_configured_storage_holds(storage):
    storage.save("legacy/old.png", ContentFile(b"stored in clear"))
    uploads.write_stored("ab/new.png", b"sealed already")
    assert uploads.encrypt_existing() == (1, 1)
    assert _raw(storage, "legacy/old.png").startswith(uploads.MAGIC)
    assert uploads.read_stored("legacy/old.png") == b"stored in clear"
    assert uploads.encrypt_existing() == (0, 2)


def _storage_in_a_process(**environment) -> subprocess.CompletedProcess:
    script = (
        "import django; django.setup(); from django.core.files.storage import storages; "
        "s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.default_acl, s.file_overwrite, "
        "s.location, s.addressing_style)"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_storage_backend_s3_configures_a_private_bucket_from_the_environment():
    done = _storage_in_a_process(
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME="portal-private",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [
        "PrivateS3Storage", "portal-private", "http://127.0.0.1:9", "private", "False", "private", "path",
    ]  # fmt: skip
    refused = _storage_in_a_process(STORAGE_BACKEND="ftp")
    assert refused.returncode != 0
    assert "STORAGE_BACKEND must be filesystem or s3" in refused.stderr
