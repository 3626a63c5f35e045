"""Previews for the workbench: images as they are, the first page of a PDF as a PNG (pdftoppm)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def pdf_first_page_png(path: Path, width: int = 900) -> bytes | None:
    """The first page rendered by poppler's pdftoppm, or None if it is missing or the PDF is bad.
    pdftoppm reads the file in a separate process with a time limit, so a hostile PDF cannot hang
    or crash the web worker."""
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
                    str(path),
                    str(target),
                ],
                check=True,
                capture_output=True,
                timeout=15,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return None
        png = target.with_suffix(".png")
        return png.read_bytes() if png.exists() else None
