"""Previews for the workbench: images as they are, the first page of a PDF as a PNG (pdftoppm).

Only documents that can be shown within limits get an inline preview: pictures whose header
declares at most UPLOAD_MAX_IMAGE_PIXELS, PDFs whose first page opens and holds no larger picture.
Files stored before uploads were checked may be anything; they get a link, never a 500.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import uploads

logger = logging.getLogger(__name__)


def previewable(attachment) -> bool:
    """May the staff page show this attachment inline? The verdict is kept in the process's cache
    under the stored name (a stored file never changes under its random name), so a page lists
    its documents without decrypting each of them at every view."""
    from django.core.cache import cache

    key = f"previewable:{attachment.stored_name}"
    verdict = cache.get(key)
    if verdict is None:
        verdict = _previewable(attachment)
        cache.set(key, verdict, timeout=24 * 3600)
    return verdict


def _previewable(attachment) -> bool:
    try:
        if not uploads.stored_exists(attachment.stored_name):
            return False
        data = uploads.read_stored(attachment.stored_name)
        if attachment.content_type.startswith("image/"):
            return uploads.image_within_limit(data)
        if attachment.content_type == "application/pdf":
            return _first_page_within_limit(data)
    except Exception:  # noqa: BLE001 - stored data that cannot be shown never takes the page down
        logger.warning("no preview for attachment %s", attachment.pk, exc_info=True)
    return False


def _first_page_within_limit(data: bytes) -> bool:
    """The PDF opens, has a first page of a sane size, and no picture on it declares more pixels
    than the limit (poppler decodes pictures at full size before scaling them down)."""
    import pikepdf

    limit = uploads.image_pixel_limit()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if not len(pdf.pages):
            return False
        page = pdf.pages[0]
        left, bottom, right, top = (float(v) for v in page.mediabox)
        if not (0 < right - left <= 14400 and 0 < top - bottom <= 14400):  # PDF's 200-inch limit
            return False
        for image in page.get_images().values():
            width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
            if width * height > limit:
                return False
    return True


def pdf_first_page_png(data: bytes, width: int = 900) -> bytes | None:
    """The first page rendered by poppler's pdftoppm, or None if the PDF is bad. pdftoppm reads
    the decrypted file from its standard input (no clear copy on disk) in a separate process with
    a time limit, so a hostile PDF cannot hang or crash the web worker."""
    binary = shutil.which("pdftoppm")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "page"
        try:
            subprocess.run(  # noqa: S603 - fixed binary and arguments, our own stored file
                [
                    binary,
                    "-png",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    "-scale-to",
                    str(width),
                    "-",
                    str(target),
                ],
                input=data,
                check=True,
                capture_output=True,
                timeout=15,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return None
        png = target.with_suffix(".png")
        return png.read_bytes() if png.exists() else None
