"""Uploaded documents: size-capped, type sniffed from the bytes, parsed once at upload (PDFs by
pikepdf, images by Pillow under a pixel limit), within per-case and per-person quotas, stored
outside the web root under a random name and encrypted (AES-256-GCM under FILE_ENCRYPTION_KEY),
read back decrypted only through permission-checked views, and deleted from storage when no record
points to them any more. Issued documents and licences are kept the same way (EncryptedStorage).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import io
import logging
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

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


# --- Encryption at rest of every stored file ---------------------------------------------------------
# A sealed file is MAGIC, the 8-byte id of the key, a 12-byte nonce, then AES-256-GCM ciphertext and
# tag; the magic and key id are authenticated too. The first key of FILE_ENCRYPTION_KEY seals, all
# of them open (rotation: put a new key first, run `manage.py encrypt_files`). A file without the
# magic was stored before files were encrypted and is read as it is until that command seals it.
MAGIC = b"PORTAL-SEALED-1\n"


@functools.cache
def _file_keys(configured: str, field_key: str) -> tuple[tuple[bytes, AESGCM], ...]:
    if configured:
        try:
            raw = [base64.urlsafe_b64decode(k.strip()) for k in configured.split(",") if k.strip()]
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(_KEY_HELP) from exc
        if not raw or any(len(key) != 32 for key in raw):
            raise ImproperlyConfigured(_KEY_HELP)
    else:  # derived from the field key, so a development instance needs no second key
        first = base64.urlsafe_b64decode(field_key.split(",")[0].strip())
        raw = [
            HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal-stored-files"
            ).derive(first)
        ]
    return tuple((hashlib.sha256(key).digest()[:8], AESGCM(key)) for key in raw)


_KEY_HELP = (
    "FILE_ENCRYPTION_KEY must be one or more comma-separated url-safe base64 keys of 32 bytes "
    "(generate one with `python -c 'import base64, os; print(base64.urlsafe_b64encode("
    "os.urandom(32)).decode())'`)."
)


def _keys():
    return _file_keys(settings.FILE_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_KEY)


def seal(data: bytes) -> bytes:
    key_id, cipher = _keys()[0]
    nonce = secrets.token_bytes(12)
    return MAGIC + key_id + nonce + cipher.encrypt(nonce, data, MAGIC + key_id)


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def unseal(blob: bytes) -> bytes:
    if not is_sealed(blob):
        return blob  # stored before files were encrypted
    start = len(MAGIC)
    key_id, nonce, body = blob[start : start + 8], blob[start + 8 : start + 20], blob[start + 20 :]
    for candidate_id, cipher in _keys():
        if candidate_id == key_id:
            return cipher.decrypt(nonce, body, MAGIC + key_id)
    raise ImproperlyConfigured(
        "A stored file cannot be decrypted with FILE_ENCRYPTION_KEY: was a key removed?"
    )


# --- Where stored files live: STORAGES["default"] ------------------------------------------------------
# The local file system under PRIVATE_MEDIA_ROOT by default (PrivateFileSystemStorage); S3-compatible
# object storage with STORAGE_BACKEND=s3 (portal/s3.py), so that every web and worker replica sees the
# same files. Every read, write, existence check and deletion goes through the storage API: no code
# outside a storage class assumes a local path. What is stored is always sealed (above).


def file_storage():
    """The configured storage (STORAGES["default"]), looked up at each use so tests may swap it."""
    from django.core.files.storage import storages

    return storages["default"]


def _checked(stored_name: str) -> str:
    """A stored name is relative and stays inside the storage (no "..", no absolute path)."""
    parts = stored_name.replace("\\", "/").split("/")
    if not stored_name or stored_name.startswith("/") or ".." in parts or "" in parts:
        raise ValueError("stored name escapes the storage folder")
    return stored_name


def read_stored(stored_name: str) -> bytes:
    """The clear bytes of a stored file (raises FileNotFoundError when it is gone)."""
    with file_storage().open(_checked(stored_name), "rb") as handle:
        return unseal(handle.read())


def write_stored(stored_name: str, data: bytes) -> None:
    """Store `data` sealed under exactly `stored_name` (FileExistsError if that name is taken)."""
    storage = file_storage()
    saved = storage.save(_checked(stored_name), ContentFile(seal(data)))
    if saved != stored_name:  # the storage chose another name: the wanted one exists
        storage.delete(saved)
        raise FileExistsError(stored_name)


def stored_exists(stored_name: str) -> bool:
    try:
        return file_storage().exists(_checked(stored_name))
    except ValueError:
        return False


def discard_stored(stored_name: str) -> None:
    """Remove a file just written whose record was not kept (no check of records: see
    delete_stored for files that records may point to). Nothing happens when it is gone."""
    file_storage().delete(_checked(stored_name))


class PrivateFileSystemStorage(FileSystemStorage):
    """The default STORAGES["default"]: the file system under PRIVATE_MEDIA_ROOT (outside the web
    root; a shared volume when there is more than one box), the folder read from the settings at
    each use (tests move PRIVATE_MEDIA_ROOT). Never served by URL."""

    def __init__(self, **kwargs):
        kwargs.setdefault("base_url", None)
        super().__init__(**kwargs)

    @property
    def base_location(self):
        return str(storage_root())

    @property
    def location(self):
        return str(storage_root().resolve())

    def rewrite(self, name: str, content: bytes) -> None:
        """Replace a file atomically: a reader sees the old or the new file, never half."""
        path = Path(self.path(name))
        temporary = path.with_name(path.name + ".sealing")
        temporary.write_bytes(content)
        temporary.replace(path)


class EncryptedStorage(Storage):
    """The FileFields of issued documents and licences: the configured storage, every file sealed
    on the way in and opened on the way out."""

    def _save(self, name, content):
        content.seek(0)
        return file_storage().save(name, ContentFile(seal(content.read())))

    def _open(self, name, mode="rb"):
        with file_storage().open(name, "rb") as handle:
            return ContentFile(unseal(handle.read()), name=name)

    def delete(self, name):
        file_storage().delete(name)

    def exists(self, name):
        return file_storage().exists(name)

    def size(self, name):
        return file_storage().size(name)

    def listdir(self, path):
        return file_storage().listdir(path)

    def get_available_name(self, name, max_length=None):
        return file_storage().get_available_name(name, max_length=max_length)

    def url(self, name):
        raise NotImplementedError("stored files are served only by permission-checked views")


def private_storage():
    """Where issued documents and licences are kept: beside the uploads, encrypted, read only
    through permission-checked views (a callable, referenced by the migrations)."""
    return EncryptedStorage()


def _stored_names(storage, folder: str = "") -> Iterable[str]:
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:  # nothing stored yet
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for directory in sorted(directories):
        yield from _stored_names(storage, f"{folder}/{directory}" if folder else directory)


def encrypt_existing() -> tuple[int, int]:
    """Seal every stored file under the first key: files stored in clear before encryption, and
    files sealed under an older key. Returns (sealed, already current). Idempotent."""
    storage = file_storage()
    sealed = current = 0
    first_id = _keys()[0][0]
    for name in list(_stored_names(storage)):
        if name.endswith(".sealing"):
            continue  # left by an interrupted run
        with storage.open(name, "rb") as handle:
            blob = handle.read()
        if is_sealed(blob) and blob[len(MAGIC) : len(MAGIC) + 8] == first_id:
            current += 1
            continue
        replacement = seal(unseal(blob))
        if hasattr(storage, "rewrite"):
            storage.rewrite(name, replacement)
        else:  # a storage without atomic replacement: delete, then store under the same name
            storage.delete(name)
            storage.save(name, ContentFile(replacement))
        sealed += 1
    return sealed, current


def path_of(stored_name: str) -> Path:
    """Where PrivateFileSystemStorage keeps a stored file (tests look there; the application goes
    through file_storage())."""
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
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if content_type == "application/pdf":
        check_pdf(data)
    else:
        check_image(data)
    return content_type


# Bytes that make a document also a web page (or, inside an image, also a PDF): a browser or PDF
# reader that sniffs would run them. Lower case; the file is lowered before the search.
HTML_MARKERS = (b"<html", b"<script", b"<!doctype", b"<body", b"<iframe", b"<svg", b"<?php")
PDF_HEAD_SCAN = 4096  # PDF readers look for %PDF- within the first 1 KiB; browsers sniff ~1 KiB


def _refuse(message: str, code: str):
    raise ValidationError(message, code=code)


def _print_again(problem: str) -> str:
    """The problem, then what to do: two sentences, joined as the language writes them (no space
    after a Chinese full stop)."""
    from django.utils.translation import get_language

    advice = _(
        "Open the document and print it to PDF again (or scan the paper), then upload the new file."
    )
    joiner = "" if (get_language() or "").startswith("zh") else " "
    return f"{problem}{joiner}{advice}"


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that is also a web page, cannot be parsed or opened, or carries active content:
    JavaScript, launch actions, embedded files or an XFA form. Walks every object once (the
    happy path costs a few milliseconds per megabyte)."""
    import pikepdf

    head = data[:PDF_HEAD_SCAN].lower()
    if any(marker in head for marker in HTML_MARKERS):
        _refuse(
            _print_again(_("This file is a PDF and a web page at once, which is refused.")),
            "polyglot",
        )
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        _refuse(
            _("This PDF is protected by a password. Remove the password, or print it to PDF "
              "again without one, then upload the new file."),
            "encrypted_pdf",
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - qpdf raises many kinds for damaged files
        _refuse(_print_again(_("This PDF is damaged and cannot be read.")), "broken_pdf")
    with pdf:
        try:
            problem = _active_content(pdf)
            pages = len(pdf.pages)
        except Exception:  # noqa: BLE001 - a damaged object deep inside
            _refuse(_print_again(_("This PDF is damaged and cannot be read.")), "broken_pdf")
    if problem is not None:
        _refuse(_print_again(_PDF_PROBLEMS[problem]()), problem)
    if pages == 0:
        _refuse(_print_again(_("This PDF has no pages.")), "empty_pdf")


_PDF_PROBLEMS = {
    "pdf_javascript": lambda: _("This PDF contains JavaScript (a program), which is refused."),
    "pdf_launch": lambda: _("This PDF tries to start a program on opening, which is refused."),
    "pdf_embedded_file": lambda: _("This PDF carries other files inside it, which is refused."),
    "pdf_xfa": lambda: _("This PDF is an XFA form, which cannot be checked and is refused."),
}


def _active_content(pdf) -> str | None:
    """The first kind of active content found, as a code of _PDF_PROBLEMS, or None."""
    import pikepdf

    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        if "/JavaScript" in names:
            return "pdf_javascript"
        if "/EmbeddedFiles" in names:
            return "pdf_embedded_file"
    acroform = root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary) and "/XFA" in acroform:
        return "pdf_xfa"
    # Every object, with the direct objects inside it (indirect ones come in their own turn):
    # actions may hide in /OpenAction, /AA, annotations' /A, outlines or name trees.
    for obj in pdf.objects:
        stack = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, pikepdf.Stream):
                item = item.stream_dict
            if isinstance(item, pikepdf.Dictionary):
                kind = item.get("/S")
                if "/JS" in item or kind == pikepdf.Name.JavaScript:
                    return "pdf_javascript"
                if kind == pikepdf.Name.Launch:
                    return "pdf_launch"
                if "/EF" in item or item.get("/Type") == pikepdf.Name.EmbeddedFile:
                    return "pdf_embedded_file"
                children = item.values()
            elif isinstance(item, pikepdf.Array):
                children = item
            else:
                continue
            stack.extend(
                child
                for child in children
                if isinstance(child, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)
                and not child.is_indirect
            )
    return None


def image_pixel_limit() -> int:
    return settings.UPLOAD_MAX_IMAGE_PIXELS


def check_image(data: bytes) -> None:
    """Refuse an image that is also a PDF or a web page, declares more pixels than
    UPLOAD_MAX_IMAGE_PIXELS (checked from the header, before anything is decoded), or does not
    decode. JPEGs are decoded at 1/8 scale: every byte is still read, in a fraction of the time."""
    from PIL import Image

    lowered = data.lower()
    if b"%pdf-" in lowered or any(marker in lowered for marker in HTML_MARKERS):
        _refuse(
            _("This picture also contains a PDF or a web page, which is refused. Photograph or "
              "scan the document again and upload the new file."),
            "polyglot",
        )  # fmt: skip
    limit = image_pixel_limit()
    too_many = _(
        "This picture has more than %(mp)s megapixels. Save it at a smaller size (or take the "
        "photo at a lower resolution) and upload it again."
    ) % {"mp": f"{limit / 1_000_000:.3g}"}
    broken = _(
        "This picture is damaged and cannot be shown. Photograph or scan the document again and "
        "upload the new file."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limit:
                    _refuse(too_many, "too_many_pixels")
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except Image.DecompressionBombError:
        _refuse(too_many, "too_many_pixels")
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError ...
        _refuse(broken, "broken_image")


def image_within_limit(data: bytes) -> bool:
    """The stored picture's header declares at most UPLOAD_MAX_IMAGE_PIXELS (read without
    decoding); False for anything unreadable. For files stored before uploads were checked."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Exception:  # noqa: BLE001
        return False
    return width * height <= image_pixel_limit()


def check_quotas(*, case, user, size: int, stores_bytes: bool = True, count: int = 1) -> None:
    """Refuse `count` more documents (one unless told) of `size` bytes together for `case` by
    `user` beyond the settings' quotas: UPLOAD_MAX_FILES_PER_CASE, UPLOAD_MAX_BYTES_PER_CASE and
    (for new files, not documents reused from file) UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY, counted
    from the stored records (one aggregate query each). Call it with the case locked."""
    from django.db.models import Count, Sum

    from .models import Attachment

    held = Attachment.objects.filter(case=case).aggregate(n=Count("pk"), total=Sum("size"))
    max_files = settings.UPLOAD_MAX_FILES_PER_CASE
    if held["n"] + count > max_files:
        _refuse(
            _("An application may hold at most %(limit)d documents, and this one has them all. "
              "Remove a document you no longer need, or put several pages into one PDF.")
            % {"limit": max_files},
            "case_file_quota",
        )  # fmt: skip
    max_bytes = settings.UPLOAD_MAX_BYTES_PER_CASE
    if (held["total"] or 0) + size > max_bytes:
        _refuse(
            _("The documents of one application may come to at most %(mb)d MB, and this file "
              "would go beyond that. Remove a document, or scan at a lower resolution.")
            % {"mb": max_bytes // (1024 * 1024)},
            "case_byte_quota",
        )  # fmt: skip
    if not stores_bytes:
        return
    day_start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    today = Attachment.objects.filter(
        uploaded_by=user, reused_from__isnull=True, created_at__gte=day_start
    ).aggregate(total=Sum("size"))["total"]
    per_day = settings.UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY
    if (today or 0) + size > per_day:
        _refuse(
            _("One person may upload at most %(mb)d MB a day, and this file would go beyond "
              "that. Upload it tomorrow, or pick a document already on file.")
            % {"mb": per_day // (1024 * 1024)},
            "daily_byte_quota",
        )  # fmt: skip


def stored_names_in_use(names: Iterable[str]) -> set[str]:
    """Of `names`, those a record still points to: an attachment (documents reused from file and a
    bundle's upload serving several cases share the stored file), a proxy's authorisation letter or a service's sample form."""
    from accounts.models import ProxyAuthorisation
    from services.models import ServiceMaterial

    from .models import Attachment, BundleAttachment

    names = [n for n in names if n]
    used: set[str] = set()
    for model, field in (
        (Attachment, "stored_name"),
        (BundleAttachment, "stored_name"),  # a bundle's upload, before its members are filed
        (ProxyAuthorisation, "letter_stored_name"),
        (ServiceMaterial, "sample_stored_name"),
    ):
        used.update(model.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
    return used


def delete_stored(names: Iterable[str]) -> list[str]:
    """Delete the stored files of `names` that no record points to any more; return those deleted.
    Safe to call twice and for names already gone. Call it after the deleting transaction has
    committed (`transaction.on_commit`), so a rollback never leaves a record without its file."""
    names = list(dict.fromkeys(n for n in names if n))
    used = stored_names_in_use(names)
    deleted = []
    for name in names:
        if name in used:
            continue
        try:
            _checked(name)
        except ValueError:
            logger.warning("not deleting %r: outside the storage folder", name)
            continue
        storage = file_storage()
        if storage.exists(name):
            storage.delete(name)
            deleted.append(name)
    return deleted


def store_upload(upload: UploadedFile) -> StoredFile:
    """Write the file under a random name (two-level folders) and return what to record."""
    content_type = check_upload(upload)
    suffix = next(s for _sig, ct, s in SIGNATURES if ct == content_type)
    token = secrets.token_hex(16)
    stored_name = f"{token[:2]}/{token}{suffix}"
    upload.seek(0)
    data = upload.read()  # at most UPLOAD_MAX_BYTES (check_upload)
    write_stored(stored_name, data)
    return StoredFile(
        stored_name=stored_name,
        original_name=Path(upload.name or "document").name[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
    )


def download_response(attachment) -> FileResponse:
    """A stored document as a download that no browser renders or sniffs (DESIGN "Data protection")."""
    return stored_download(
        attachment.stored_name, attachment.original_name, attachment.content_type
    )


def stored_download(stored_name: str, file_name: str, content_type: str | None = None):
    from django.http import Http404

    try:
        data = read_stored(stored_name)
    except FileNotFoundError:  # removed (purged) since the link was shown
        raise Http404 from None
    if content_type is None:
        content_type = sniff_content_type(data[:16]) or "application/octet-stream"
    response = FileResponse(
        io.BytesIO(data), as_attachment=True, filename=file_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
