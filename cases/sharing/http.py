"""The production registry adapter: another department's data service reached over HTTPS.

`HttpRegistry` is configured per entry of settings.DATA_REGISTRIES (README "Configuration",
deploy/README-production.md "Registries over HTTPS"): the entry, a JSON object, says which registry it is
(`code`, `department_code`, `name`, `name_en`, `fields`, `field_kinds`) and where it is (`url`,
`timeout`); its bearer token comes from the entry's `token` or, kept apart from the description,
from DATA_REGISTRY_TOKENS (a JSON object, registry code → token). The settings module reads both
from the environment.

The endpoint (one POST per look-up; the identifiers travel in the body, never in the URL)::

    POST <url>
    Authorization: Bearer <token>
    Content-Type: application/json
    Accept: application/json

    {"id_number": "110105194912310021", "real_name": "张秀兰", "fields": ["name", "birth_date"]}

answers

- ``200`` with ``{"found": true, "data": {"name": "张秀兰", "birth_date": "1949-12-31"},
  "as_of": "2026-11-30T08:00:00+08:00"}``: the record (only the fields asked for are kept;
  `as_of`, the registry's 数据时点, is optional, ISO 8601);
- ``404``, ``204``, an empty body, ``{"found": false}`` or an empty `data`: nothing on file
  (Answer(found=False): the citizen may upload the document instead);
- anything else: a time-out after `timeout` seconds (short, 3 by default: the call happens inside
  the citizen's submission), a refused connection, a 5xx or any other status, a body that is not a
  JSON object: the registry is down (`RegistryUnavailable`, as a demo registry set to be down),
  which the caller logs as an `unavailable` sharing request and tells the citizen.

Nothing personal is logged: the warnings name the registry and what went wrong (a status, an
exception's class), never the ID number, the name or the data. A gateway with another shape is
adapted by a subclass overriding `request_body` and `answer_of`. Set-based questions (免申即享
sweeps, `eligible`) are not part of this endpoint: a 免申即享 policy cannot name this registry's facts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .registry import Answer, Person, Registry, RegistryUnavailable

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 3.0
MAX_ANSWER_BYTES = 256 * 1024


class HttpRegistry(Registry):
    """A registry answering over HTTPS (module docstring: the endpoint and its answers)."""

    def __init__(
        self,
        *,
        code: str,
        department_code: str,
        fields: dict[str, str],
        url: str,
        name: str = "",
        name_en: str = "",
        field_kinds: dict[str, str] | None = None,
        token: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(fields, dict) or not all(isinstance(k, str) for k in fields):
            raise ImproperlyConfigured(
                f"The registry {code!r}: `fields` is a JSON object, field name → label."
            )
        if not url:
            raise ImproperlyConfigured(f"The registry {code!r} has no `url`.")
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            timeout = -1
        if timeout <= 0:
            raise ImproperlyConfigured(f"The registry {code!r}: `timeout` is a number of seconds.")
        self.code, self.department_code = code, department_code
        self.name, self.name_en = name or code, name_en
        self.fields, self.field_kinds = dict(fields), dict(field_kinds or {})
        self.url, self.token, self.timeout = url, token, timeout

    # --- The shape of the gateway (override for another one) --------------------------------------

    def request_body(self, person: Person, fields: list[str]) -> dict:
        return {
            "id_number": person.normalized_id_number,
            "real_name": person.real_name,
            "fields": list(fields),
        }

    def answer_of(self, answer, fields: list[str]) -> Answer:
        """An Answer from the decoded JSON body; ValueError when it is not one."""
        if not isinstance(answer, dict):
            raise ValueError("not a JSON object")
        data = answer.get("data") or {}
        if not isinstance(data, dict):
            raise ValueError("data is not a JSON object")
        if answer.get("found") is False or not data:
            return Answer(found=False)
        return Answer(
            found=True,
            data={f: data.get(f) for f in fields},
            as_of=_moment(answer.get("as_of")),
        )

    # --- The call ---------------------------------------------------------------------------------

    def _down(self, reason: str) -> RegistryUnavailable:
        logger.warning("The registry %s did not give a usable answer: %s", self.code, reason)
        return RegistryUnavailable(f"the registry {self.code} did not answer: {reason}")

    def lookup(self, person: Person, fields: list[str]) -> Answer:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            self.url,
            data=json.dumps(self.request_body(person, fields)).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, body = response.status, response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return Answer(found=False)
            raise self._down(f"HTTP {exc.code}") from None
        except TimeoutError:
            raise self._down("timed out") from None
        except urllib.error.URLError as exc:
            timed_out = isinstance(exc.reason, TimeoutError)
            raise self._down("timed out" if timed_out else type(exc.reason).__name__) from None
        except (OSError, ValueError) as exc:
            raise self._down(type(exc).__name__) from None
        if status == 204 or not body.strip():
            return Answer(found=False)
        if status != 200 or len(body) > MAX_ANSWER_BYTES:
            raise self._down(f"HTTP {status}" if status != 200 else "answer too long")
        try:
            return self.answer_of(json.loads(body), fields)
        except (ValueError, TypeError, AttributeError):
            raise self._down("not the JSON answer expected") from None


def _moment(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is None:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
