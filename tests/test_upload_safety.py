"""Uploads are safe to keep and to show: quotas per application and per person, removed files gone
from storage, PDFs with active content and polyglots refused, pictures decoded under a pixel limit,
and the staff page never breaks on a file stored before these checks existed."""

import datetime as dt
import io
import re
import struct
import zlib

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from cases import uploads, workflow
from cases.models import Attachment

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)


@pytest.fixture
def service(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return make_service(
        "AMR-UP",
        department=DepartmentFactory(code="amr", name="市场监督管理局"),
        materials=[
            {"name": "营业场所照片", "required": False},
            {"name": "其他说明", "required": False},
        ],
    ).service


@pytest.fixture
def material(service):
    return service.current_version.materials.get(name="营业场所照片")


@pytest.fixture
def api(citizen) -> Client:
    client = Client()
    client.force_login(citizen)
    client.cookies["django_language"] = "en"
    return client


def new_case(api) -> str:
    response = api.post(
        "/api/v1/applications/",
        {"service": "AMR-UP", "data": {"shop_area": 35}},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["number"]


def upload(api, number, material, content=files.PDF, name="scan.pdf"):
    return api.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": material.pk, "file": SimpleUploadedFile(name, content)},
    )


def padded_pdf(size: int) -> bytes:
    """A valid PDF of exactly `size` bytes (a comment after %%EOF pads it)."""
    return files.PDF + b"%" + b"0" * (size - len(files.PDF) - 2) + b"\n"


def stored_files(settings) -> set[str]:
    root = settings.PRIVATE_MEDIA_ROOT
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def refused(response, *words):
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["errors"]["file"])
    for word in words:
        assert word in message, message
    return message


# --- Quotas ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_application_holds_at_most_the_configured_number_of_documents(api, material, settings):
    settings.UPLOAD_MAX_FILES_PER_CASE = 2
    number = new_case(api)
    assert upload(api, number, material).status_code == 201
    first_id = Attachment.objects.get().pk
    # A document on file counts as well as a new upload.
    reused = api.post(
        f"/api/v1/applications/{number}/attachments/",
        {"material": material.pk, "document": first_id},
    )
    assert reused.status_code == 201
    before = stored_files(settings)
    refused(upload(api, number, material), "at most 2 documents", "Remove a document")
    refused(
        api.post(
            f"/api/v1/applications/{number}/attachments/",
            {"material": material.pk, "document": first_id},
        ),
        "at most 2 documents",
    )
    assert Attachment.objects.count() == 2
    assert stored_files(settings) == before
    # Another application of the same person has its own count.
    assert upload(api, new_case(api), material).status_code == 201


@pytest.mark.django_db
def test_an_applications_documents_stay_within_the_configured_bytes(api, material, settings):
    settings.UPLOAD_MAX_BYTES_PER_CASE = 3 * 1024 * 1024
    number = new_case(api)
    for _ in range(2):
        assert upload(api, number, material, content=padded_pdf(1024 * 1024)).status_code == 201
    before = stored_files(settings)
    refused(
        upload(api, number, material, content=padded_pdf(1024 * 1024 + 1)),
        "at most 3 MB",
        "scan at a lower resolution",
    )
    assert stored_files(settings) == before
    # What still fits is taken.
    assert upload(api, number, material, content=padded_pdf(1024 * 1024)).status_code == 201


@pytest.mark.django_db
def test_one_person_uploads_at_most_the_configured_bytes_a_day(api, material, settings):
    settings.UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY = 2 * 1024 * 1024
    first, second = new_case(api), new_case(api)
    assert upload(api, first, material, content=padded_pdf(1024 * 1024)).status_code == 201
    assert upload(api, second, material, content=padded_pdf(1024 * 1024)).status_code == 201
    refused(
        upload(api, second, material, content=padded_pdf(2000)),
        "at most 2 MB a day",
        "tomorrow",
    )
    # Reusing a document on file stores nothing new: allowed.
    on_file = Attachment.objects.filter(case__number=first).get()
    assert (
        api.post(
            f"/api/v1/applications/{second}/attachments/",
            {"material": material.pk, "document": on_file.pk},
        ).status_code
        == 201
    )
    # Yesterday's uploads do not count today.
    Attachment.objects.update(created_at=timezone.now() - dt.timedelta(days=1))
    assert upload(api, second, material, content=padded_pdf(2000)).status_code == 201


@pytest.mark.django_db
def test_a_quota_on_the_materials_page_is_told_beside_the_file_input(
    citizen_client, api, material, settings
):
    settings.UPLOAD_MAX_FILES_PER_CASE = 1
    number = new_case(api)
    assert upload(api, number, material, name="shop-front.pdf").status_code == 201
    citizen_client.cookies["django_language"] = "en"
    page = citizen_client.post(
        f"/applications/{number}/materials/",
        {"material": material.pk, "file": SimpleUploadedFile("another.pdf", files.PDF)},
    )
    # The page's convention for a refused upload: 400, the form again with the message.
    assert page.status_code == 400
    content = page.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="file-{material.pk}-error">(.*?)</ul>', content)
    assert errors and "at most 1 documents" in errors.group(1)
    # Nothing saved is lost: the document already there is still listed and kept.
    assert "shop-front.pdf" in content
    assert list(Attachment.objects.values_list("original_name", flat=True)) == ["shop-front.pdf"]


# --- Removed files leave storage ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_removed_document_leaves_storage_unless_another_application_reuses_it(
    citizen_client, api, material, settings, django_capture_on_commit_callbacks
):
    first, second = new_case(api), new_case(api)
    original = upload(api, first, material).json()["id"]
    reused = api.post(
        f"/api/v1/applications/{second}/attachments/",
        {"material": material.pk, "document": original},
    ).json()["id"]
    alone = upload(api, second, material, content=files.PNG, name="alone.png").json()["id"]
    shared_path = uploads.path_of(Attachment.objects.get(pk=original).stored_name)
    alone_path = uploads.path_of(Attachment.objects.get(pk=alone).stored_name)

    def remove(number, attachment_id):
        with django_capture_on_commit_callbacks(execute=True):
            response = citizen_client.post(
                f"/applications/{number}/materials/", {"remove": attachment_id}
            )
        assert response.status_code == 302

    remove(second, alone)
    assert not alone_path.exists()
    remove(first, original)  # the second application still holds the same stored file
    assert shared_path.exists()
    download = citizen_client.get(f"/applications/{second}/documents/{reused}/")
    assert b"".join(download.streaming_content) == files.PDF
    remove(second, reused)
    assert not shared_path.exists()
    assert stored_files(settings) == set()


@pytest.mark.django_db
def test_delete_stored_keeps_what_a_record_points_to(api, material, settings):
    number = new_case(api)
    kept = Attachment.objects.get(pk=upload(api, number, material).json()["id"]).stored_name
    orphan = uploads.store_upload(SimpleUploadedFile("orphan.pdf", files.PDF)).stored_name
    assert uploads.delete_stored([kept, orphan, "ab/gone.pdf", "../../etc/passwd"]) == [orphan]
    assert stored_files(settings) == {kept}
    assert uploads.delete_stored([orphan]) == []  # twice is harmless


# --- PDFs with active content, damaged PDFs, polyglots ----------------------------------------------


def build_pdf(change=None, **save) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if change is not None:
        change(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)
    return out.getvalue()


def with_open_action_javascript(pdf):
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="app.alert(1)")


def with_javascript_name_tree(pdf):
    action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="app.alert(1)"))
    pdf.Root.Names = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(Names=["go", action]))


def with_embedded_file(pdf):
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")


def with_launch_link(pdf):
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 100, 100],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F="calc.exe"),
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([link]))


def with_xfa(pdf):
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[], XFA=pikepdf.Stream(pdf, b"<xdp/>"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (build_pdf(with_open_action_javascript), ["JavaScript", "print it to PDF again"]),
        (build_pdf(with_javascript_name_tree), ["JavaScript"]),
        (build_pdf(with_embedded_file), ["other files inside it", "print it to PDF again"]),
        (build_pdf(with_launch_link), ["start a program"]),
        (build_pdf(with_xfa), ["XFA form"]),
        (
            build_pdf(encryption=pikepdf.Encryption(user="secret", owner="owner")),
            ["password", "Remove the password"],
        ),
        (b"%PDF-1.7\n garbage, not a PDF at all\n", ["damaged", "print it to PDF again"]),
        (
            b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n" + files.PDF[9:],
            ["a web page at once"],
        ),
        (files.PNG + build_pdf(), ["also contains a PDF or a web page"]),
        (files.JPEG + b"<!DOCTYPE html><script>alert(1)</script>", ["also contains a PDF"]),
        (files.JPEG[: len(files.JPEG) // 2], ["damaged", "Photograph or scan"]),
    ],
    ids=[
        "open-action-js",
        "js-name-tree",
        "embedded-file",
        "launch",
        "xfa",
        "password",
        "unparseable",
        "pdf-html-polyglot",
        "png-pdf-polyglot",
        "jpeg-html-polyglot",
        "truncated-jpeg",
    ],
)
def test_active_damaged_and_polyglot_files_are_refused(api, material, settings, content, words):
    number = new_case(api)
    refused(upload(api, number, material, content=content), *words)
    assert not Attachment.objects.exists()
    assert stored_files(settings) == set()


@pytest.mark.django_db
def test_ordinary_pdfs_and_pictures_are_taken(api, material):
    number = new_case(api)
    owner_only = build_pdf(encryption=pikepdf.Encryption(user="", owner="owner"))
    for content, name in [
        (build_pdf(), "plain.pdf"),
        (owner_only, "print-protected.pdf"),
        (files.PDF, "hand-made.pdf"),
        (files.PNG, "photo.png"),
        (files.JPEG, "photo.jpg"),
    ]:
        assert upload(api, number, material, content=content, name=name).status_code == 201, name


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height, with one tiny IDAT: nothing large is allocated."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.django_db
def test_a_picture_over_the_pixel_limit_is_refused_at_upload(api, material, settings):
    number = new_case(api)
    refused(
        upload(api, number, material, content=png_declaring(30000, 30000), name="huge.png"),
        "more than 40 megapixels",
        "smaller size",
    )
    settings.UPLOAD_MAX_IMAGE_PIXELS = 50
    refused(upload(api, number, material, content=files.PNG), "megapixels")
    assert not Attachment.objects.exists()


# --- The staff page with files stored before the checks ----------------------------------------------


@pytest.mark.django_db
def test_the_staff_page_previews_only_what_can_be_shown(service, material, settings):
    caseworker = StaffMembershipFactory(department=service.department, role=Role.CASEWORKER).user
    owner = CitizenProfileFactory().user
    case, _ = workflow.create_draft(service=service, user=owner, data={"shop_area": 3})
    good = workflow.add_attachment(
        case=case,
        material_id=material.pk,
        upload=SimpleUploadedFile("good.png", files.PNG),
        user=owner,
    )
    workflow.submit_application(case=case, user=owner)

    def stored_earlier(name: str, content: bytes | None, content_type: str) -> Attachment:
        """A file stored before uploads were checked: the row and the file put there directly."""
        stored_name = f"ol/{name}"
        if content is not None:
            path = settings.PRIVATE_MEDIA_ROOT / stored_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return Attachment.objects.create(
            case=case,
            material=material,
            stored_name=stored_name,
            original_name=name,
            size=len(content or b""),
            sha256="0" * 64,
            content_type=content_type,
            uploaded_by=owner,
        )

    huge = stored_earlier("huge.png", png_declaring(30000, 30000), "image/png")
    broken = stored_earlier("broken.pdf", b"%PDF-1.7\n not a pdf", "application/pdf")
    missing = stored_earlier("missing.jpg", None, "image/jpeg")
    client = Client()
    client.force_login(caseworker)
    page = client.get(f"/work/{case.number}/")
    assert page.status_code == 200
    content = page.content.decode()
    assert f"/work/{case.number}/documents/{good.pk}/preview.png" in content
    for attachment in (huge, broken, missing):
        assert f"/documents/{attachment.pk}/preview.png" not in content
        assert f'href="/work/{case.number}/documents/{attachment.pk}/"' in content
        preview = client.get(f"/work/{case.number}/documents/{attachment.pk}/preview.png")
        assert preview.status_code == 404
    shown = client.get(f"/work/{case.number}/documents/{good.pk}/preview.png")
    assert shown.status_code == 200 and shown.content == files.PNG
