"""API tokens (`Authorization: Token …`) that honour 2FA (DESIGN "Data protection").

Tokens are django-rest-knox tokens (accounts.ApiToken): only a hash is stored, each expires
(API_TOKEN_TTL_STAFF for staff, API_TOKEN_TTL_CITIZEN for everyone else), every sign-in issues a new
one, and a password change revokes them all (User.save). A token records whether its sign-in gave
an authenticator code; one that did not is refused, and deleted, as soon as its holder must use 2FA
(STAFF_2FA switched on, a role granted, an authenticator set up), so no token outlives the policy.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions

from . import second_factor
from .models import ApiToken, User


def issue_token(*, user: User, second_factor_verified: bool) -> tuple[str, datetime]:
    """A new token for `user` and its expiry; the token itself is returned only here, once."""
    ttl = (
        settings.API_TOKEN_TTL_STAFF
        if second_factor.is_staff_account(user)
        else settings.API_TOKEN_TTL_CITIZEN
    )
    # The account's expired tokens go now rather than on every request (knox's default): each
    # token's own expiry is checked whenever it is used, so an expired one is never accepted.
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, token = ApiToken.objects.create(
        user=user, expiry=ttl, second_factor=second_factor_verified
    )
    return token, instance.expiry


def revoke_tokens(*, user: User) -> int:
    """End every API token of `user`; returns how many there were."""
    deleted, _per_model = ApiToken.objects.filter(user=user).delete()
    return deleted


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token check (hash, expiry), and the 2FA rule above, in one query: knox would also
    read every other token of the account on each request to delete the expired ones, which
    issue_token does instead."""

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False

    def validate_user(self, auth_token: ApiToken):
        user, token = super().validate_user(auth_token)
        if not token.second_factor and second_factor.needs_second_factor(user):
            token.delete()
            raise exceptions.AuthenticationFailed(
                _("This token was issued without an authenticator code. Sign in again with one.")
            )
        return user, token


class TokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI description of the token (the API docs' "Authorize" box): `Token <key>`."""

    target_class = "accounts.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` from POST /api/v1/auth/token/; it expires (`expiry`).",
        }
