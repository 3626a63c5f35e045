"""Encryption at rest and keyed hashes for personal data (DESIGN "Data protection").

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under the keys in FIELD_ENCRYPTION_KEY;
the first key encrypts, every key decrypts, so keys rotate by putting a new one first. An encrypted
column cannot be searched, so each searchable value also gets a keyed hash (HMAC-SHA256) column: equal
inputs give equal hashes, and without the key the hash reveals nothing, not even for the small space of
valid ID numbers.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _keys() -> list[str]:
    return [key.strip() for key in settings.FIELD_ENCRYPTION_KEY.split(",") if key.strip()]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)."
        ) from exc


def encrypt(value: str) -> str:
    return _fernet(tuple(_keys())).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(_keys())).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with FIELD_ENCRYPTION_KEY: was a key removed?"
        ) from exc


@cache
def _hash_key(configured: str, first_encryption_key: str) -> bytes:
    if configured:
        return configured.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal-lookup-hash").derive(
        base64.urlsafe_b64decode(first_encryption_key)
    )


def keyed_hash(value: str) -> str:
    """A stable, keyed fingerprint of `value` for equality lookups of encrypted data."""
    key = _hash_key(settings.FIELD_HASH_KEY, _keys()[0])
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the clear value.

    It cannot be filtered on (the ciphertext differs every time): pair it with a keyed-hash column.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("isnull",):
            raise TypeError(f"An encrypted field cannot be searched with '{lookup_name}'.")
        return super().get_lookup(lookup_name)
