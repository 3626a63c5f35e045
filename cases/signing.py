"""Seals and signatures (DESIGN "Official documents and decisions"; 国办发〔2022〕3号).

Interface used by documents and licences (the bodies are being written in the `signing` branch):

- `sign_pdf(pdf, *, department, reason="")` → the PDF signed (PAdES) with `department`'s seal
  certificate.
- `sign_payload(payload, *, department)` → a compact signed token of a small JSON object (the
  licence QR code carries one), and `open_payload(token)` → the payload if the signature holds.
- `verify_pdf(data)` → a `Verdict`: is it signed by one of our departments, unchanged since, and
  is it exactly a document the portal issued.
"""

from __future__ import annotations

import base64
import dataclasses
import json


class SignatureInvalid(ValueError):
    pass


def sign_pdf(pdf: bytes, *, department, reason: str = "") -> bytes:
    return pdf  # stub until the signing branch lands


def sign_payload(payload: dict, *, department) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    return f"{body.rstrip('=')}.unsigned"


def open_payload(token: str) -> dict:
    body, _sep, _signature = token.partition(".")
    try:
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError as exc:
        raise SignatureInvalid(str(exc)) from exc


@dataclasses.dataclass
class Verdict:
    signed: bool = False
    intact: bool = False
    signer: str = ""
    issued: object | None = None  # the OfficialDocument or Licence it is
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.issued is not None and not self.problems


def verify_pdf(data: bytes) -> Verdict:
    return Verdict(problems=["not implemented yet"])
