"""The OpenAPI schema documents every answer an operation can give (DESIGN "API"), 4xx included, so a
client (and schemathesis, tests/test_fuzz_*.py) finds each status code and its body in the schema."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions

from .api import ErrorOutput

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema with the error answers (`ErrorOutput`) each operation may give added
    where the view did not document them itself:

    - 400: bad input, for operations that take a body or parameters;
    - 401 and 403: no or an invalid token (with `WWW-Authenticate: Token`), or a role that may not;
    - 404: what the path names does not exist or is not yours, or a page past the last;
    - 409: a stale or concurrent action, or a state that no longer allows it (signed-in writes);
    - 415: a body in a media type the operation does not read;
    - 429: too many attempts, where the view is throttled.
    """

    def error_codes(self) -> list[int]:
        codes = []
        has_parameters = "{" in self.path or bool(self._get_filter_parameters())
        if self.method in UNSAFE or has_parameters or self.get_override_parameters():
            codes.append(400)
        if not self._is_public():
            codes += [401, 403]
        if "{" in self.path or self._get_paginator() is not None:
            codes.append(404)
        if self.method in UNSAFE:
            codes += [415] if self._is_public() else [409, 415]
        if self.view.get_throttles():
            codes.append(429)
        return codes

    def _is_public(self) -> bool:
        return (
            any(
                isinstance(permission, permissions.AllowAny)
                for permission in self.view.get_permissions()
            )
            and not self.view.get_authenticators()
        )

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ErrorOutput, str(code), direction=direction
                )
        return responses
