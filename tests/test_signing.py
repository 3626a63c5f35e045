"""Seals and signatures: a department's seal on a PDF verifies as genuine only while the file is
byte for byte the one the portal recorded; tampering, a foreign certificate, no seal or a file the
portal never issued each get their own plain answer, on the command line and at /verify/. Signed
QR payloads round-trip and refuse tampering and strangers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import secrets
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cases import pki, signing, workflow
from cases.models import Licence, OfficialDocument
from cases.signing import SealMissing, SignatureInvalid, open_payload, sign_payload, verify_pdf
from cases.verification import licence_payload
from services.models import LicenceType

from .factories import CitizenProfileFactory, DepartmentFactory, make_service


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>受理通知书</p>").write_pdf()


@pytest.fixture
def department(db):
    return DepartmentFactory(code="seal-amr", name="示范市市场监督管理局")


@pytest.fixture
def sealed(unsigned_pdf, department) -> bytes:
    return signing.sign_pdf(unsigned_pdf, department=department, reason="受理通知书")


@pytest.fixture
def case(department):
    profile = CitizenProfileFactory(user__username="zhangsm", real_name="张三明")
    service = make_service(
        "AMR-SIGN", department=department, materials=[{"name": "申请书", "required": False}]
    ).service
    draft, _created = workflow.create_draft(
        service=service, user=profile.user, data={"shop_area": 35}
    )
    return workflow.submit_application(case=draft, user=profile.user)


def record(case, data: bytes, number: str = "AMR-SL-2026-000007") -> OfficialDocument:
    return OfficialDocument.objects.create(
        case=case,
        kind=OfficialDocument.Kind.ACCEPTANCE_NOTICE,
        number=number,
        department=case.department,
        title="受理通知书",
        sha256=hashlib.sha256(data).hexdigest(),
    )


def english(function, *args, **kwargs):
    with translation.override("en"):
        return function(*args, **kwargs)


def flip_byte_in_first_stream(data: bytes) -> bytes:
    """One byte of the page content changed: inside the signed range, same length, still a PDF."""
    at = data.index(b"stream\n") + len(b"stream\n") + 5
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def sign_with_foreign_ca(pdf: bytes, *, code: str, name: str) -> bytes:
    """A seal made with a self-made CA whose certificate names our department exactly."""
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, code),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    signer = signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore(),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.PdfSigner(metadata, signer).sign_pdf(writer).getvalue()


# --- The demo PKI ----------------------------------------------------------------------------------


def test_make_demo_pki_issues_a_seal_per_active_department_and_keeps_them(db, tmp_path):
    DepartmentFactory(code="police", name="示范市公安局")
    DepartmentFactory(code="closed", name="已撤销的局", is_active=False)
    call_command("make_demo_pki", dir=str(tmp_path), stdout=io.StringIO())

    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == pki.DEMO_CA_NAME
    seal = x509.load_pem_x509_certificate((tmp_path / "departments" / "police.crt").read_bytes())
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "示范市公安局"
    assert seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "示范市公安局"
    assert pki.department_code_of(seal) == "police"
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    seal.verify_directly_issued_by(ca)
    assert (tmp_path / "departments" / "police.key").stat().st_mode & 0o077 == 0
    assert not (tmp_path / "departments" / "closed.crt").exists()

    before = (tmp_path / "departments" / "police.crt").read_bytes()
    out = io.StringIO()
    call_command("make_demo_pki", dir=str(tmp_path), stdout=out)
    assert "CA kept, 0 seal certificate(s) issued" in out.getvalue()
    assert (tmp_path / "departments" / "police.crt").read_bytes() == before

    call_command("make_demo_pki", dir=str(tmp_path), force=True, stdout=io.StringIO())
    assert (tmp_path / "departments" / "police.crt").read_bytes() != before


def test_make_demo_pki_will_not_overwrite_a_real_ca(db, tmp_path):
    (tmp_path / "ca.crt").write_bytes(b"a production root, without its key")
    with pytest.raises(CommandError, match="not the demo CA"):
        call_command("make_demo_pki", dir=str(tmp_path), stdout=io.StringIO())


def test_a_department_without_a_seal_cannot_sign_in_production(
    db, unsigned_pdf, settings, tmp_path
):
    settings.SIGNING_DIR = tmp_path
    settings.SIGNING_CA_CERT = tmp_path / "ca.crt"
    settings.SIGNING_ISSUE_DEMO_CERTIFICATES = False
    newcomer = DepartmentFactory(code="new-bureau", name="新设局")
    with pytest.raises(SealMissing, match="new-bureau"):
        signing.sign_pdf(unsigned_pdf, department=newcomer)
    with pytest.raises(SealMissing):
        sign_payload({"n": "1"}, department=newcomer)


def test_a_seal_that_would_not_verify_is_never_used(db, unsigned_pdf, settings, tmp_path):
    """Production with the department's files in place but a different trusted root: signing
    stops rather than issue documents that would fail verification."""
    department = DepartmentFactory(code="seal-amr", name="示范市市场监督管理局")
    signing.sign_pdf(unsigned_pdf, department=department)  # its demo seal exists now
    pki.make_demo_ca(tmp_path)  # another root
    settings.SIGNING_CA_CERT = tmp_path / "ca.crt"
    settings.SIGNING_ISSUE_DEMO_CERTIFICATES = False
    with pytest.raises(SealMissing, match="does not chain to the trusted root"):
        signing.sign_pdf(unsigned_pdf, department=department)


def test_a_department_added_later_gets_a_demo_seal_the_first_time_it_signs(unsigned_pdf, db):
    later = DepartmentFactory(code="added-later", name="后来新增的局")
    signed = signing.sign_pdf(unsigned_pdf, department=later)
    verdict = english(verify_pdf, signed)
    assert verdict.signed and verdict.intact
    assert verdict.signer == "后来新增的局"
    assert verdict.signer_department == later


# --- Signing and verifying PDFs ---------------------------------------------------------------------


def test_a_sealed_document_on_record_is_genuine(sealed, case, department, tmp_path):
    document = record(case, sealed)
    verdict = english(verify_pdf, sealed)
    assert verdict.valid, verdict.problems
    assert verdict.signer == "示范市市场监督管理局"
    assert verdict.issued == document
    assert verdict.signer_department == department

    path = tmp_path / "notice.pdf"
    path.write_bytes(sealed)
    out = io.StringIO()
    english(call_command, "verify_document", str(path), stdout=out)  # returns: exit status 0
    assert "document AMR-SL-2026-000007" in out.getvalue()
    assert "Sealed:   示范市市场监督管理局" in out.getvalue()
    assert "Unchanged since sealing: yes" in out.getvalue()


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_poppler_reads_the_seal(sealed, tmp_path):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    report = subprocess.run(  # noqa: S603
        ["pdfsig", str(path)],
        capture_output=True,
        text=True,
        check=False,  # noqa: S607
    ).stdout
    assert "Signature is Valid." in report
    assert "Total document signed" in report
    assert "ETSI.CAdES.detached" in report  # PAdES
    assert "SHA-256" in report


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (flip_byte_in_first_stream, "changed after it was sealed"),
        (
            lambda data: data + b"\n% appended later\n" + secrets.token_bytes(64),
            "added to this file",
        ),
    ],
    ids=["one byte flipped", "garbage appended"],
)
def test_a_tampered_file_fails(sealed, case, tmp_path, tamper, problem):
    record(case, sealed)
    tampered = tamper(sealed)
    verdict = english(verify_pdf, tampered)
    assert not verdict.valid
    assert not verdict.intact
    assert any(problem in p for p in verdict.problems), verdict.problems

    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Not genuine"):
        english(call_command, "verify_document", str(path), stdout=out)
    assert problem in out.getvalue()


def test_text_changed_in_place_fails(sealed, case):
    """The signature dictionary (reason, location) lies in the signed range: editing a word of it
    in place breaks the seal although the file still opens."""
    record(case, sealed)
    at = sealed.index(b"/Location")
    tampered = sealed[:at] + b"/Locatiom" + sealed[at + len(b"/Location") :]
    verdict = english(verify_pdf, tampered)
    assert not verdict.valid and not verdict.intact
    assert any("changed after it was sealed" in p for p in verdict.problems), verdict.problems


def test_a_change_saved_as_an_incremental_update_fails(sealed, case):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    record(case, sealed)
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    writer.root["/Lang"] = generic.TextStringObject("en")  # any change to the catalog
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    verdict = english(verify_pdf, out.getvalue())
    assert not verdict.valid and not verdict.intact
    assert any("added to this file" in p for p in verdict.problems), verdict.problems


def test_a_seal_from_a_foreign_ca_is_not_trusted(unsigned_pdf, case, department):
    forged = sign_with_foreign_ca(unsigned_pdf, code=department.code, name=department.name)
    record(case, forged)  # even a file on record is refused when the seal is not ours
    verdict = english(verify_pdf, forged)
    assert verdict.signed and verdict.intact
    assert not verdict.valid
    assert any("not issued by the portal's certification authority" in p for p in verdict.problems)
    assert verdict.signer_department is None


def test_a_seal_whose_certificate_has_expired_is_not_valid(
    unsigned_pdf, case, department, demo_pki
):
    """Our CA issued it, but it expired: signed files are refused although nothing changed."""
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    ca = x509.load_pem_x509_certificate((demo_pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((demo_pki / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, department.name),
                                 x509.NameAttribute(NameOID.SERIAL_NUMBER, department.code)]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(7)
        .not_valid_before(long_ago).not_valid_after(long_ago + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    signer = signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(expired),
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        cert_registry=SimpleCertificateStore.from_certs([translate_pyca_cryptography_cert_to_asn1(ca)]),
    )  # fmt: skip
    metadata = signers.PdfSignatureMetadata(
        field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    signed = (
        signers.PdfSigner(metadata, signer)
        .sign_pdf(IncrementalPdfFileWriter(io.BytesIO(unsigned_pdf)))
        .getvalue()
    )
    record(case, signed)
    verdict = english(verify_pdf, signed)
    assert verdict.signed and verdict.intact and not verdict.valid
    assert any("is not valid now" in p for p in verdict.problems), verdict.problems


def test_an_unsigned_pdf_is_not_signed(unsigned_pdf, case):
    record(case, unsigned_pdf)
    verdict = english(verify_pdf, unsigned_pdf)
    assert not verdict.signed and not verdict.valid
    assert verdict.problems == ["This file carries no electronic seal: it is not signed."]


def test_a_sealed_file_the_portal_never_recorded_is_not_issued(sealed, db):
    verdict = english(verify_pdf, sealed)
    assert verdict.signed and verdict.intact and verdict.issued is None
    assert not verdict.valid
    assert any("no record of issuing exactly this file" in p for p in verdict.problems)


def test_a_sealed_licence_on_record_is_genuine(unsigned_pdf, department):
    licence = _licence(department)
    signed = signing.sign_pdf(unsigned_pdf, department=department, reason="电子证照")
    licence.sha256 = hashlib.sha256(signed).hexdigest()
    licence.save(update_fields=["sha256"])
    verdict = english(verify_pdf, signed)
    assert verdict.valid and verdict.issued == licence and verdict.issued_kind == "licence"


def test_a_sealed_file_recorded_for_another_department_is_refused(unsigned_pdf, case):
    other = DepartmentFactory(code="police", name="示范市公安局")
    signed = signing.sign_pdf(unsigned_pdf, department=other)
    record(case, signed)  # the record says the case's department (amr) issued it
    verdict = english(verify_pdf, signed)
    assert not verdict.valid
    assert any("but the portal's records say" in p for p in verdict.problems)


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n garbage, not a PDF at all"])
def test_files_that_are_not_pdfs_get_an_answer_not_an_error(db, data):
    verdict = english(verify_pdf, data)
    assert not verdict.valid and verdict.problems


# --- Signed payloads --------------------------------------------------------------------------------


def _licence(department, **fields) -> Licence:
    licence_type = LicenceType.objects.get_or_create(
        code="food-ops", defaults={"name": "食品经营许可证", "issuer": department}
    )[0]
    return Licence.objects.create(
        number=fields.pop("number", "FOOD-OPS-2026-000001"),
        licence_type=licence_type,
        holder=CitizenProfileFactory(real_name="张三明"),
        verification_code=secrets.token_urlsafe(18),
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + dt.timedelta(days=5 * 365),
        **fields,
    )


def test_a_licence_payload_round_trips_and_fits_a_qr_code(department):
    licence = _licence(department)
    token = sign_payload(licence_payload(licence), department=department)
    assert len(token) < 350
    assert open_payload(token) == {
        "n": "FOOD-OPS-2026-000001",
        "c": licence.verification_code,
        "t": "food-ops",
        "h": "张*明",
        "u": licence.valid_until.isoformat(),
        "d": "seal-amr",
    }


def _reencode(token: str, **changes) -> str:
    body, _dot, signature = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    new_body = base64.urlsafe_b64encode(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    )
    return f"{new_body.decode().rstrip('=')}.{signature}"


def test_a_tampered_payload_is_refused(department):
    token = sign_payload({"n": "FOOD-OPS-2026-000001", "u": None}, department=department)
    with pytest.raises(SignatureInvalid):
        open_payload(_reencode(token, u="2099-12-31"))
    body, _dot, signature = token.partition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(SignatureInvalid):
        open_payload(f"{body}.{flipped}")
    for junk in ["", "no-dot", "a.b.c", "!!!.???", token + "x" * 3000]:
        with pytest.raises(SignatureInvalid):
            open_payload(junk)


def test_a_token_from_an_unknown_or_other_department_is_refused(department):
    other = DepartmentFactory(code="police", name="示范市公安局")
    token = sign_payload({"n": "1"}, department=department)
    with pytest.raises(SignatureInvalid):
        open_payload(_reencode(token, d="police"))  # another department's certificate
    with pytest.raises(SignatureInvalid):
        open_payload(_reencode(token, d="nobody"))  # no certificate on file
    with pytest.raises(SignatureInvalid):
        open_payload(_reencode(token, d="../ca"))
    assert open_payload(sign_payload({"n": "1"}, department=other))["d"] == "police"


def test_a_token_signed_with_a_stranger_key_is_refused(department):
    token = sign_payload({"n": "1"}, department=department)
    body = token.partition(".")[0]
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = signing._sign_bytes(stranger, signing.TOKEN_CONTEXT + body.encode())
    with pytest.raises(SignatureInvalid):
        open_payload(f"{body}.{signing._b64encode(forged)}")


def test_a_token_of_a_seal_from_a_foreign_ca_is_refused(department, settings, tmp_path):
    """A certificate file for the department that does not chain to our CA is not believed."""
    token = sign_payload({"n": "1"}, department=department)
    cert_path, _key = pki.seal_paths(department.code)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = dt.datetime.now(dt.UTC)
    foreign = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    original = cert_path.read_bytes()
    try:
        cert_path.write_bytes(foreign.public_bytes(serialization.Encoding.PEM))
        with pytest.raises(SignatureInvalid):
            open_payload(token)
    finally:
        cert_path.write_bytes(original)


# --- The public pages -------------------------------------------------------------------------------


@pytest.fixture
def visitor() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def test_the_verify_page_offers_an_upload_and_a_code_field(visitor, db):
    page = visitor.get(reverse("verify-document"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and 'name="file"' in html
    assert '<label for="id_code"' in html


def test_uploading_a_genuine_file_shows_its_number(visitor, sealed, case):
    record(case, sealed)
    page = visitor.post(
        reverse("verify-document"),
        {"file": SimpleUploadedFile("notice.pdf", sealed, content_type="application/pdf")},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Genuine and unchanged" in html
    assert "AMR-SL-2026-000007" in html
    assert "示范市市场监督管理局" in html
    assert timezone.localdate().strftime("%Y-%m-%d") in html


def test_uploading_a_tampered_file_shows_the_problem(visitor, sealed, case):
    record(case, sealed)
    page = visitor.post(
        reverse("verify-document"),
        {"file": SimpleUploadedFile("notice.pdf", flip_byte_in_first_stream(sealed))},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "could not be confirmed" in html
    assert "This file was changed after it was sealed" in html
    assert "AMR-SL-2026-000007" not in html


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("photo.pdf", b"\x89PNG\r\n\x1a\nnot a pdf"), "is not a PDF document"),
        (SimpleUploadedFile("empty.pdf", b""), "The file is empty"),
        (None, "Choose the PDF file to check."),
    ],
    ids=["png renamed", "empty", "nothing chosen"],
)
def test_a_bad_upload_gets_a_form_error(visitor, db, upload, message):
    page = visitor.post(reverse("verify-document"), {"file": upload} if upload else {})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="error-summary"' in html
    assert message in html
    assert 'href="#id_file"' in html  # the summary links to the field
    assert "<title>Error: " in html


def test_a_too_large_upload_gets_a_form_error(visitor, db, settings, sealed):
    settings.VERIFY_UPLOAD_MAX_BYTES = 1024
    page = visitor.post(reverse("verify-document"), {"file": SimpleUploadedFile("big.pdf", sealed)})
    assert page.status_code == 200
    assert "The file is larger than" in page.content.decode()


def test_typing_a_verification_code_leads_to_the_licence(visitor, department):
    licence = _licence(department)
    page = visitor.get(reverse("verify-document"), {"code": licence.verification_code})
    assert page.status_code == 302
    assert page["Location"] == reverse("verify-licence", args=[licence.verification_code])

    page = visitor.get(reverse("verify-document"), {"code": "not-a-code"})
    assert page.status_code == 200
    assert "No e-licence has this verification code" in page.content.decode()
    assert 'href="#id_code"' in page.content.decode()


def test_the_payload_page_shows_the_licence_a_genuine_token_names(visitor, department):
    licence = _licence(department)
    token = sign_payload(licence_payload(licence), department=department)
    html = visitor.get(reverse("verify-payload"), {"t": token}).content.decode()
    assert "Genuine: this licence is valid." in html
    assert "FOOD-OPS-2026-000001" in html
    assert "张*明" in html and "张三明" not in html

    licence.revoked_at = timezone.now()
    licence.save(update_fields=["revoked_at"])
    html = visitor.get(reverse("verify-payload"), {"t": token}).content.decode()
    assert "Genuine, but this licence has been revoked." in html


def test_the_payload_page_refuses_a_forged_token(visitor, department):
    licence = _licence(department)
    token = sign_payload(licence_payload(licence), department=department)
    for forged in [_reencode(token, u="2099-12-31"), "garbage", ""]:
        page = visitor.get(reverse("verify-payload"), {"t": forged})
        assert page.status_code == 200
        html = page.content.decode()
        assert "This QR code is not genuine" in html
        assert "FOOD-OPS-2026-000001" not in html
