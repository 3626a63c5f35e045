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
import json
import re
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import models

from portal.parsers import displayable


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

    def formfield(self, **kwargs):
        # A number or an address, edited on one line (a TextField would give a text area).
        return super().formfield(**{"widget": forms.TextInput, **kwargs})


class EncryptedEmailField(EncryptedTextField):
    """An e-mail address encrypted at rest (a `User.email`), validated and edited as one."""

    default_validators = [validate_email]
    description = "E-mail address encrypted at rest"

    def formfield(self, **kwargs):
        return super().formfield(
            **{
                "form_class": forms.EmailField,
                "max_length": 254,
                "widget": forms.EmailInput,
                **kwargs,
            }
        )


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class EncryptedJSONField(models.TextField):
    """A JSON document (a case's form data) stored as one encrypted text: whatever a form asks for,
    an ID number, a phone or an address typed into it, nothing of it is readable in the database or
    a dump of it. Python code sees the dict; the document cannot be searched inside the database."""

    description = "JSON encrypted at rest"
    empty_strings_allowed = False

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        text = decrypt(value)
        data = json.loads(text)
        # A lone surrogate (kept by SQLite before the API refused it: portal.parsers) is read
        # with U+FFFD in its place, so no page, PDF or answer fails on it. The document is written
        # in ASCII (get_prep_value), so one can only come from a `\udXXX` escape: the walk over
        # the document is for the rare text that has one, not for every row loaded.
        return displayable(data) if _SURROGATE_ESCAPE.search(text) else data

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        # ASCII escapes: a lone surrogate kept by an old row still encodes (portal.parsers).
        return encrypt(json.dumps(value, cls=DjangoJSONEncoder))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder, ensure_ascii=False)

    def get_lookup(self, lookup_name):
        if lookup_name not in ("isnull",):
            raise TypeError(f"An encrypted field cannot be searched with '{lookup_name}'.")
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


def lookup_hash(value: str) -> str:
    """The keyed hash of an e-mail address or phone for equality lookups (`email_hash`,
    `phone_hash`): of the trimmed, lower-cased value, or empty for no value."""
    value = (value or "").strip().lower()
    return keyed_hash(value) if value else ""


def rewrite_column(
    schema_editor, table: str, column: str, change, *, hash_column: str = ""
) -> None:
    """For data migrations: pass every stored value of `table.column` through `change` (encrypt
    or decrypt), row by row in raw SQL, since the historical model's field would try to decrypt a
    clear value; `hash_column` is set to the lookup hash of the clear value on the way in."""
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)}")  # noqa: S608 - names are ours
        rows = cursor.fetchall()
        for pk, value in rows:
            if value is None or value == "":
                continue
            new = change(value if isinstance(value, str) else json.dumps(value))
            if hash_column:
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s, {quote(hash_column)} = %s "  # noqa: S608
                    "WHERE id = %s",
                    [new, lookup_hash(value) if change is encrypt else "", pk],
                )
            else:
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s",  # noqa: S608
                    [new, pk],
                )
