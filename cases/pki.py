"""Where the seal certificates live, how they are loaded, and the demo certification authority.

Layout of `settings.SIGNING_DIR` (env `PORTAL_SIGNING_DIR`, default `var/pki/`):

- `ca.crt`: the root certificate(s) the portal trusts, PEM (several may follow one another); its
  path can be set apart with `PORTAL_SIGNING_CA_CERT`.
- `departments/<code>.crt`: a department's seal certificate, PEM, the seal first, then any
  intermediate certificates up to the root; `<code>` is `Department.code`.
- `departments/<code>.key`: its private key, PEM (PKCS#8 or traditional), unencrypted or encrypted
  with `PORTAL_SIGNING_KEY_PASSWORD`. EC P-256 keys keep the QR tokens short; RSA works too.
- `ca.key`: the demo CA's private key. Only a demo instance has it: a production CA key never sits
  on the web server. While it is here and `SIGNING_ISSUE_DEMO_CERTIFICATES` is on, a department
  without a seal gets one from the demo CA the first time it signs (`make_demo_pki` makes them
  all in advance).

Nothing here reads settings at import time; keys are written with mode 0600 and never committed
(var/ is ignored by git).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEMO_CA_NAME = "一网通办演示根证书 (demo, not for production)"
CA_YEARS = 20
SEAL_YEARS = 10


class SealMissing(ImproperlyConfigured):
    """The department has no seal certificate and key (and none may be issued here)."""


@dataclass(frozen=True)
class Seal:
    """A department's seal: its certificate (then the chain up to the root) and private key."""

    code: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: object  # a cryptography private key (EC or RSA)


# --- Paths -----------------------------------------------------------------------------------------


def signing_dir() -> Path:
    return Path(settings.SIGNING_DIR)


def ca_cert_path() -> Path:
    return Path(settings.SIGNING_CA_CERT or signing_dir() / "ca.crt")


def ca_key_path(directory: Path | None = None) -> Path:
    return (directory or signing_dir()) / "ca.key"


def seal_paths(code: str, directory: Path | None = None) -> tuple[Path, Path]:
    if not code or "/" in code or code.startswith("."):
        raise SealMissing(f"Not a department code: {code!r}")
    folder = (directory or signing_dir()) / "departments"
    return folder / f"{code}.crt", folder / f"{code}.key"


# --- Loading ---------------------------------------------------------------------------------------


def trust_roots() -> list[x509.Certificate]:
    """The root certificates our seals must chain to; [] when none is configured."""
    path = ca_cert_path()
    if not path.is_file():
        return []
    return x509.load_pem_x509_certificates(path.read_bytes())


def _key_password() -> bytes | None:
    password = getattr(settings, "SIGNING_KEY_PASSWORD", "")
    return password.encode() if password else None


def load_certificates(code: str) -> tuple[x509.Certificate, ...] | None:
    """The department's certificate and chain as stored, or None when there is none."""
    cert_path, _key_path = seal_paths(code)
    if not cert_path.is_file():
        return None
    return tuple(x509.load_pem_x509_certificates(cert_path.read_bytes()))


def load_seal(code: str) -> Seal | None:
    cert_path, key_path = seal_paths(code)
    if not (cert_path.is_file() and key_path.is_file()):
        return None
    certificates = x509.load_pem_x509_certificates(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=_key_password())
    if key.public_key().public_numbers() != certificates[0].public_key().public_numbers():
        raise ImproperlyConfigured(f"{key_path} is not the key of the certificate {cert_path}.")
    return Seal(code=code, certificate=certificates[0], chain=tuple(certificates[1:]), key=key)


def chains_to_root(certificates, roots, at: dt.datetime | None) -> bool:
    """Whether the first certificate chains, through the others, to one of `roots`, each
    certificate valid at `at` (None: whenever; the signature's time is not known)."""
    if not certificates or not roots:
        return False
    current, pool = certificates[0], list(certificates[1:])
    for _depth in range(len(pool) + 1):
        if at is not None and not current.not_valid_before_utc <= at <= current.not_valid_after_utc:
            return False
        for root in roots:
            if _issued_by(current, root):
                return True
        issuer = next((c for c in pool if _issued_by(current, c)), None)
        if issuer is None:
            return False
        pool.remove(issuer)
        current = issuer
    return False


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - a wrong name, key type or signature: not issued by it
        return False
    return True


def department_code_of(certificate: x509.Certificate) -> str:
    """The department code a seal certificate names (its subject serialNumber)."""
    values = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(values[0].value) if values else ""


def common_name_of(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else certificate.subject.rfc4514_string()


# --- The demo certification authority ---------------------------------------------------------------


def demo_issuing_allowed() -> bool:
    """Seals are issued on the fly only where SIGNING_ISSUE_DEMO_CERTIFICATES is on and the demo
    CA's key is here, or no CA is configured at all (then the demo CA is made first)."""
    if not settings.SIGNING_ISSUE_DEMO_CERTIFICATES:
        return False
    return ca_key_path().is_file() or not (signing_dir() / "ca.crt").exists()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (a reader sees the old file or the new one), keys readable by us only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(directory: Path):
    """One issuer at a time across processes (runserver, Celery workers), so a key and its
    certificate always belong together."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _short(text: str) -> str:
    return (text or "-")[:64]  # X.520 upper bound of CN and O


def make_demo_ca(directory: Path, *, force: bool = False) -> bool:
    """Create the demo root CA in `directory` unless one is there; True when it made one.

    Refuses to replace a CA certificate whose key is not here (a real CA) unless forced."""
    cert_path, key_path = directory / "ca.crt", ca_key_path(directory)
    with _locked(directory):
        if not force and cert_path.is_file():
            if not key_path.is_file():
                raise ImproperlyConfigured(
                    f"{cert_path} has no ca.key beside it: it is not the demo CA. "
                    "Use --force to replace it with a demo CA."
                )
            return False
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, DEMO_CA_NAME),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "一网通办 demo"),
            ]
        )
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write(key_path, _pem_key(key), private=True)
        _write(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return True


def _load_demo_ca(directory: Path):
    certificate = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key(ca_key_path(directory).read_bytes(), password=None)
    return certificate, key


def seal_is_current(code: str, directory: Path) -> bool:
    """Whether the department's stored seal is valid now, issued by the CA in `directory`."""
    cert_path, key_path = seal_paths(code, directory)
    ca_path = directory / "ca.crt"
    if not (cert_path.is_file() and key_path.is_file() and ca_path.is_file()):
        return False
    certificates = tuple(x509.load_pem_x509_certificates(cert_path.read_bytes()))
    roots = x509.load_pem_x509_certificates(ca_path.read_bytes())
    return chains_to_root(certificates, roots, _now())


def issue_demo_seal(department, directory: Path, *, force: bool = False) -> bool:
    """Issue `department` a seal from the demo CA in `directory`, unless it has a current one;
    True when it issued one. Subject: CN and O = the department's name, serialNumber = its code;
    key usage digitalSignature and nonRepudiation."""
    with _locked(directory):
        if not force and seal_is_current(department.code, directory):
            return False
        ca_certificate, ca_key = _load_demo_ca(directory)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, _short(department.name)),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _short(department.name)),
                        x509.NameAttribute(NameOID.SERIAL_NUMBER, department.code),
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                    ]
                )
            )
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(
                min(now + dt.timedelta(days=365 * SEAL_YEARS), ca_certificate.not_valid_after_utc)
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = seal_paths(department.code, directory)
        _write(key_path, _pem_key(key), private=True)
        _write(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return True


def seal_for(department) -> Seal:
    """The department's seal, valid now and chaining to our trusted root; on a demo instance one
    is issued the first time it is needed (or when the demo CA was renewed). Raises SealMissing
    when there is none, or when it has expired or is not from our CA: a document must never be
    sealed with a certificate that would not verify."""
    if department is None:
        raise SealMissing("No department to seal with.")
    seal = load_seal(department.code)
    if seal is not None and chains_to_root((seal.certificate, *seal.chain), trust_roots(), _now()):
        return seal
    if demo_issuing_allowed():
        make_demo_ca(signing_dir())
        issue_demo_seal(department, signing_dir())
        if (seal := load_seal(department.code)) is not None:
            return seal
    cert_path, _key_path = seal_paths(department.code)
    if seal is None:
        raise SealMissing(
            f"Department {department.code!r} has no seal: put {cert_path.name} and its .key in "
            f"{cert_path.parent} (README, Seals and signatures)."
        )
    raise SealMissing(
        f"The seal certificate {cert_path} has expired, is not valid yet, or does not chain to "
        f"the trusted root {ca_cert_path()}."
    )
