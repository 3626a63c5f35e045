"""Small real documents for upload tests: uploads are parsed (pikepdf, Pillow), so a file that only
starts with the right magic bytes is refused."""

import io

from PIL import Image

# One blank A4 page, without a cross-reference table (pikepdf and poppler rebuild it).
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, kind)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
