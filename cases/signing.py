"""Seals and signatures (DESIGN "Official documents and decisions"; 国办发〔2022〕3号 on electronic seals).

- `sign_pdf(pdf, *, department, reason="")` → the PDF with a PAdES signature (B-B, SHA-256) made
  with the department's seal certificate; the visible red seal is drawn by the document itself.
- `sign_payload(payload, *, department)` → a compact signed token of a small JSON object (the
  licence QR code carries one), and `open_payload(token)` → the payload if the signature holds,
  else `SignatureInvalid`.
- `verify_pdf(data)` → a `Verdict`: is it signed by one of our departments, unchanged since, and
  is it exactly a document the portal issued (its SHA-256 is on an OfficialDocument or Licence).

Where the certificates come from is `cases.pki` (files in `settings.SIGNING_DIR`; on a demo instance
the demo CA issues a missing seal on the fly). `SealMissing` is raised when a department has none.

A token is `base64url(JSON).base64url(signature)`, unpadded. The JSON is compact UTF-8 with sorted
keys and always carries `d`, the signing department's code, so the verifier knows whose
certificate to check it with. With EC P-256 seals the signature is 64 bytes (r‖s, 86 characters);
an RSA-2048 seal works too but makes the token about 256 characters longer. The signature covers
the context string `TOKEN_CONTEXT` and the encoded JSON, so it can never pass for anything else.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.utils.translation import gettext as _

from . import pki
from .pki import SealMissing

__all__ = [
    "SealMissing",
    "SignatureInvalid",
    "Verdict",
    "open_payload",
    "sign_payload",
    "sign_pdf",
    "verify_pdf",
]

logger = logging.getLogger(__name__)

TOKEN_CONTEXT = b"yiwangtongban-payload-v1."
TOKEN_MAX_LENGTH = 2048  # anything longer is not ours; refused before any work
SIGNATURE_FIELD = "Seal"


class SignatureInvalid(ValueError):
    """The token is malformed, tampered with, or not signed by a department of this portal."""


# --- PDF -------------------------------------------------------------------------------------------


def sign_pdf(pdf: bytes, *, department, reason: str = "") -> bytes:
    """`pdf` with an invisible PAdES signature of `department`'s seal (the location is the
    department's name). Raises SealMissing when the department has no seal certificate."""
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    seal = pki.seal_for(department)
    others = [*seal.chain, *pki.trust_roots()]
    signer = signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(seal.certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(seal.key),
        cert_registry=SimpleCertificateStore.from_certs(
            [translate_pyca_cryptography_cert_to_asn1(c) for c in others]
        ),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason or None,
        location=department.name,
        name=department.name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return signers.PdfSigner(metadata, signer).sign_pdf(writer).getvalue()


@dataclasses.dataclass
class Verdict:
    """What /verify/ and `manage.py verify_document` tell about a file.

    `signed`: it carries at least one signature; `intact`: every signature matches the bytes and
    nothing but signature upkeep was added after; `signer`: the seal's holder (certificate CN);
    `issued`: the OfficialDocument or Licence whose recorded SHA-256 the file has; `problems`:
    what is wrong, in sentences for the reader (translated)."""

    signed: bool = False
    intact: bool = False
    signer: str = ""
    issued: object | None = None  # the OfficialDocument or Licence it is
    problems: list[str] = dataclasses.field(default_factory=list)
    signer_department: object | None = None  # the Department the seal names, if we know it
    signed_at: dt.datetime | None = None  # as the signer says (not a trusted timestamp)
    sha256: str = ""

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.issued is not None and not self.problems

    @property
    def issued_kind(self) -> str:
        """ "document", "licence" or "" (for templates)."""
        from .models import Licence, OfficialDocument

        if isinstance(self.issued, OfficialDocument):
            return "document"
        if isinstance(self.issued, Licence):
            return "licence"
        return ""

    def _problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)


def _validation_context(roots: list[x509.Certificate]):
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[translate_pyca_cryptography_cert_to_asn1(c) for c in roots],
        allow_fetching=False,
    )


def _acceptable_coverage(status) -> bool:
    """The signature covers the whole file, or only signature upkeep (DSS, timestamps) was
    appended after it. Anything else added later, even a permitted form fill or bytes after the
    end of the signed revision, is a change."""
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    return (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level == ModificationLevel.LTA_UPDATES
        and bool(status.docmdp_ok)
    )


def _check_signature(verdict: Verdict, embedded, roots, context) -> None:
    from pyhanko.sign.validation import validate_pdf_signature

    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except Exception as exc:  # a malformed signature dictionary or CMS blob: not a seal we trust
        logger.info("Unreadable PDF signature: %s", exc)
        verdict.intact = False
        verdict._problem(_("The electronic seal in this file is damaged and cannot be checked."))
        return
    certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
    verdict.signer = verdict.signer or pki.common_name_of(certificate)
    verdict.signed_at = verdict.signed_at or status.signer_reported_dt
    if not (status.intact and status.valid):
        verdict.intact = False
        verdict._problem(
            _("This file was changed after it was sealed: the seal no longer matches its content.")
        )
    elif not _acceptable_coverage(status):
        verdict.intact = False
        verdict._problem(_("Something was added to this file after it was sealed."))
    if not status.trusted:
        chain = (
            certificate,
            *(x509.load_der_x509_certificate(c.dump()) for c in embedded.other_embedded_certs),
        )
        if pki.chains_to_root(chain, roots, at=None):
            verdict._problem(
                _(
                    "The seal's certificate was issued by the portal's certification authority but "
                    "is not valid now (expired, withdrawn or not meant for seals)."
                )
            )
        else:
            verdict._problem(
                _(
                    "The seal is not one of this portal's: its certificate was not issued by the "
                    "portal's certification authority."
                )
            )
    elif verdict.signer_department is None:
        from accounts.models import Department

        code = pki.department_code_of(certificate)
        verdict.signer_department = Department.objects.filter(code=code).first() if code else None


def _issued_record(sha256: str):
    from .models import Licence, OfficialDocument

    document = (
        OfficialDocument.objects.filter(sha256=sha256).select_related("department", "case").first()
    )
    if document is not None:
        return document, document.department
    licence = Licence.objects.filter(sha256=sha256).select_related("licence_type__issuer").first()
    if licence is not None:
        return licence, licence.licence_type.issuer
    return None, None


def verify_pdf(data: bytes) -> Verdict:
    """Check a file someone was given: signature, changes since, and the portal's records.

    Never raises for bad input: a file that is not a PDF gets a verdict with that problem."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    verdict = Verdict(sha256=hashlib.sha256(data).hexdigest())
    if b"%PDF-" not in data[:1024]:  # readers accept the header anywhere in the first 1 KiB
        verdict._problem(_("This file is not a PDF document."))
        return verdict
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception as exc:  # pyhanko raises several kinds on a broken file
        logger.info("Unreadable PDF uploaded for verification: %s", exc)
        verdict._problem(
            _("This file is damaged or was changed: it cannot be read as a PDF document.")
        )
        return verdict
    if not signatures:
        verdict._problem(_("This file carries no electronic seal: it is not signed."))
        return verdict
    verdict.signed = verdict.intact = True
    roots = pki.trust_roots()
    context = _validation_context(roots)
    for embedded in signatures:
        _check_signature(verdict, embedded, roots, context)
    issued, department = _issued_record(verdict.sha256)
    verdict.issued = issued
    if verdict.problems:
        return verdict
    if issued is None:
        verdict._problem(
            _(
                "The seal is genuine, but the portal has no record of issuing exactly this file. "
                "Ask the issuing department for the document."
            )
        )
    elif (
        department is not None
        and verdict.signer_department is not None
        and department.pk != verdict.signer_department.pk
    ):
        verdict._problem(
            _("The seal is %(signer)s's, but the portal's records say %(issuer)s issued it.")
            % {"signer": verdict.signer, "issuer": department.name}
        )
    return verdict


# --- Compact signed tokens -------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not text or any(ch not in _B64_ALPHABET for ch in text):
        raise SignatureInvalid("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("not base64url") from exc


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _sign_bytes(key, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise SealMissing(f"Seal keys must be EC or RSA, not {type(key).__name__}.")


def _verify_bytes(public_key, signature: bytes, data: bytes) -> None:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                raise InvalidSignature
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise InvalidSignature
    except InvalidSignature as exc:
        raise SignatureInvalid("bad signature") from exc


def sign_payload(payload: dict, *, department) -> str:
    """A token carrying `payload` (JSON-serialisable, small) plus `d`: the department's code,
    signed with its seal key. Raises SealMissing when the department has no seal."""
    seal = pki.seal_for(department)
    body = json.dumps(
        {**payload, "d": department.code}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    encoded = _b64encode(body.encode())
    return f"{encoded}.{_b64encode(_sign_bytes(seal.key, TOKEN_CONTEXT + encoded.encode()))}"


def open_payload(token: str) -> dict:
    """The payload of a token signed by one of our departments (its `d` included). Raises
    SignatureInvalid when it is malformed, altered, or signed by a department or key we do not
    know (the department's certificate must be on file and chain to our CA)."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX_LENGTH:
        raise SignatureInvalid("not a token")
    encoded, sep, signature = token.strip().partition(".")
    if not sep or "." in signature:
        raise SignatureInvalid("not a token")
    try:
        payload = json.loads(_b64decode(encoded).decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureInvalid("not a token") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("d"), str):
        raise SignatureInvalid("no department")
    try:
        certificates = pki.load_certificates(payload["d"])
    except SealMissing as exc:
        raise SignatureInvalid("unknown department") from exc
    if not certificates or not pki.chains_to_root(certificates, pki.trust_roots(), at=None):
        raise SignatureInvalid("unknown department")
    _verify_bytes(
        certificates[0].public_key(), _b64decode(signature), TOKEN_CONTEXT + encoded.encode()
    )
    return payload
