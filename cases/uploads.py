"""Uploaded documents: size-capped, type sniffed from the bytes, stored outside the web root under a
random name, read back only through permission-checked views."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext as _

SIGNATURES = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
]


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    size: int
    sha256: str
    content_type: str


def sniff_content_type(head: bytes) -> str | None:
    """PDF, JPEG or PNG by their magic bytes; anything else (an .exe renamed .pdf ...) is None."""
    for signature, content_type, _suffix in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def storage_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT)


def private_storage():
    """Where issued documents and licences are kept: beside the uploads, outside the web root, read
    only through permission-checked views (a callable, so tests may move PRIVATE_MEDIA_ROOT)."""
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage(location=storage_root(), base_url=None)


def path_of(stored_name: str) -> Path:
    root = storage_root().resolve()
    path = (root / stored_name).resolve()
    if root not in path.parents:
        raise ValueError("stored name escapes the storage folder")
    return path


def check_upload(upload: UploadedFile) -> str:
    """Refuse oversized or disguised files with a message for the applicant; return the real type."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            _("The file is larger than %(mb)d MB; scan at a lower resolution or split it.")
            % {"mb": limit // (1024 * 1024)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(
            _("The file is empty: choose it again, or scan or photograph the document anew."),
            code="empty",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            _(
                "Only PDF, JPEG and PNG files are accepted; this file is none of them, whatever its "
                "name: save or scan the document as PDF, or photograph it."
            ),
            code="wrong_type",
        )
    return content_type


def store_upload(upload: UploadedFile) -> StoredFile:
    """Write the file under a random name (two-level folders) and return what to record."""
    content_type = check_upload(upload)
    suffix = next(s for _sig, ct, s in SIGNATURES if ct == content_type)
    token = secrets.token_hex(16)
    stored_name = f"{token[:2]}/{token}{suffix}"
    path = path_of(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with path.open("xb") as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return StoredFile(
        stored_name=stored_name,
        original_name=Path(upload.name or "document").name[:255],
        size=size,
        sha256=digest.hexdigest(),
        content_type=content_type,
    )


def download_response(attachment) -> FileResponse:
    """A stored document as a download that no browser renders or sniffs (DESIGN "Data protection")."""
    return stored_download(
        attachment.stored_name, attachment.original_name, attachment.content_type
    )


def stored_download(stored_name: str, file_name: str, content_type: str | None = None):
    path = path_of(stored_name)
    if content_type is None:
        with path.open("rb") as handle:
            content_type = sniff_content_type(handle.read(16)) or "application/octet-stream"
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=file_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
