"""API for accounts: `auth/register/`, `auth/token/`, `me/` (DESIGN "API")."""

import datetime as dt

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django_otp import match_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from portal.client_address import client_address

from . import proxies, second_factor, services, sign_in_limit, sms_codes, tokens
from .models import Language, ProxyAuthorisation, SmsCode, User


class RegisterInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    real_name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=20)
    phone = serializers.CharField(max_length=20)
    sms_code = serializers.CharField(
        max_length=12,
        help_text="The 6-digit code sent to `phone` by `POST auth/sms-codes/` (purpose register).",
    )
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    preferred_language = serializers.ChoiceField(
        choices=Language.choices, required=False, default=Language.ZH_HANS
    )


class MembershipOutput(serializers.Serializer):
    department = serializers.CharField(source="department.code")
    department_name = serializers.CharField(source="department.name")
    role = serializers.CharField()


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    preferred_language = serializers.CharField()
    elder_mode = serializers.BooleanField()
    real_name = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField(help_text="Masked: 110***********123X")
    phone = serializers.SerializerMethodField(help_text="Masked: 138****8000")
    verified_at = serializers.SerializerMethodField(
        help_text="When the identity provider confirmed name, ID number and phone (实名认证); null "
        "if never"
    )
    memberships = MembershipOutput(many=True)

    def _profile(self, user: User):
        return getattr(user, "citizen_profile", None)

    def get_verified_at(self, user: User) -> dt.datetime | None:
        profile = self._profile(user)
        return profile.verified_at if profile else None

    def get_real_name(self, user: User) -> str | None:
        profile = self._profile(user)
        return profile.real_name if profile else None

    def get_id_number(self, user: User) -> str | None:
        profile = self._profile(user)
        return profile.masked_id_number if profile else None

    def get_phone(self, user: User) -> str | None:
        profile = self._profile(user)
        return profile.masked_phone if profile else None


def _me(user: User) -> dict:
    user = (
        User.objects.select_related("citizen_profile")
        .prefetch_related("memberships__department")
        .get(pk=user.pk)
    )
    return MeOutput(user).data


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [sign_in_limit.SignInRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=RegisterInput,
        responses={201: MeOutput, **error_responses(400, 429)},
        operation_id="auth_register",
        description=(
            "Verifies the person with the identity provider (name, ID number, and that the phone "
            "is registered to them) and the phone by `sms_code`. An ID number held by a verified "
            "account is refused; one held by an unverified account is reclaimed by its verified "
            "owner (the old account keeps no profile)."
        ),
    )
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.register_citizen(**data.validated_data)
        return Response(_me(user), status=status.HTTP_201_CREATED)


class SmsCodeInput(serializers.Serializer):
    phone = serializers.CharField(max_length=20)
    purpose = serializers.ChoiceField(
        choices=SmsCode.Purpose.choices,
        help_text=(
            "register: for `auth/register/`; change_phone: for a new `phone` in `PATCH me/`; "
            "verify: for `POST me/verify/` (send it to the account's own phone)."
        ),
    )


class SmsCodeOutput(serializers.Serializer):
    detail = serializers.CharField()
    expires_at = serializers.DateTimeField()


class SmsCodeView(APIView):
    """Send a 6-digit code (短信验证码) to a mobile phone; it is valid for a few minutes, once.
    Limited per phone and per client address: past a limit, 429 with Retry-After."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=SmsCodeInput,
        responses={202: SmsCodeOutput, **error_responses(400, 429)},
        operation_id="auth_sms_code",
    )
    def post(self, request):
        data = SmsCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            expires_at = sms_codes.send_code(
                **data.validated_data, address=client_address(request._request)
            )
        except sms_codes.CodeThrottled as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=exc.message) from exc
        return Response(
            {"detail": _("A code is on its way to the mobile phone."), "expires_at": expires_at},
            status=status.HTTP_202_ACCEPTED,
        )


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True)


class TokenView(APIView):
    """Exchange a username and password (and, for staff, an authenticator code) for a new API token.

    Every call issues a new token, never an old one; it expires at `expiry`. Failures count towards
    the lockout of the account at this address and towards this address's sign-in limit."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [sign_in_limit.SignInRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenInput,
        responses={
            200: inline_serializer(
                "TokenOutput",
                {"token": serializers.CharField(), "expiry": serializers.DateTimeField()},
            )
        },
        operation_id="auth_token",
    )
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        http_request = request._request
        user = authenticate(
            request=http_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        wait = getattr(http_request, sign_in_limit.REQUEST_FLAG, None)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=sign_in_limit.message(wait))
        if getattr(http_request, "axes_locked_out", False):
            # AxesMiddleware answers with accounts.lockout.lockout_response (429).
            raise exceptions.Throttled()
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": [_("The username or password is wrong.")]}
            )
        verified = False
        if second_factor.needs_second_factor(user):
            code = (data.validated_data.get("otp") or "").strip().replace(" ", "")
            if not code or match_token(user, code) is None:
                raise exceptions.ValidationError(
                    {"otp": [_("Staff need the current code of their authenticator app.")]}
                )
            verified = True
        token, expiry = tokens.issue_token(user=user, second_factor_verified=verified)
        return Response({"token": token, "expiry": expiry})


class TokenRevokeView(APIView):
    """End the token this request is made with (signing out a client)."""

    authentication_classes = [tokens.TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, operation_id="auth_token_revoke")
    def post(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeUpdateInput(serializers.Serializer):
    phone = serializers.CharField(
        max_length=20,
        required=False,
        help_text="A new mobile number needs `sms_code` (`auth/sms-codes/`, purpose change_phone).",
    )
    sms_code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(choices=Language.choices, required=False)
    elder_mode = serializers.BooleanField(required=False)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutput, operation_id="me")
    def get(self, request):
        return Response(_me(request.user))

    @extend_schema(
        request=MeUpdateInput,
        responses={200: MeOutput, **error_responses(400)},
        operation_id="me_update",
    )
    def patch(self, request):
        data = MeUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.select_related("citizen_profile").get(pk=request.user.pk)
        services.update_profile(user=user, **data.validated_data)
        return Response(_me(user))


class VerifyInput(serializers.Serializer):
    sms_code = serializers.CharField(
        max_length=12,
        help_text="The code sent to the account's phone by `POST auth/sms-codes/` (purpose verify).",
    )


class VerifyView(APIView):
    """Real-name verification (实名认证) of an account without it: the identity provider checks the
    name, ID number and phone on file; the code proves the phone is in the holder's hand."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=VerifyInput,
        responses={200: MeOutput, **error_responses(400)},
        operation_id="me_verify",
    )
    def post(self, request):
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.select_related("citizen_profile").get(pk=request.user.pk)
        services.verify_my_identity(user=user, sms_code=data.validated_data["sms_code"])
        return Response(_me(user))


class AuthorisationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    principal = serializers.CharField(source="principal.real_name")
    agent = serializers.CharField(source="agent.real_name")
    relationship = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    channel = serializers.CharField()
    shares_documents = serializers.BooleanField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class AuthorisationsOutput(serializers.Serializer):
    given = AuthorisationOutput(many=True, help_text="People you authorised to apply for you")
    held = AuthorisationOutput(many=True, help_text="People you may apply for, today")


class GrantInput(serializers.Serializer):
    agent_real_name = serializers.CharField(max_length=64)
    agent_id_number = serializers.CharField(max_length=20)
    relationship = serializers.ChoiceField(choices=ProxyAuthorisation.Relationship.choices)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    shares_documents = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The proxy may reuse my documents and e-licences on file (default: no).",
    )


class AuthorisationListView(APIView):
    """帮办代办: whom you authorised, and for whom you may apply (`on_behalf_of` in applications/)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AuthorisationsOutput)
    def get(self, request):
        return Response(
            AuthorisationsOutput(
                {"given": proxies.given_by(request.user), "held": proxies.held_by(request.user)}
            ).data
        )

    @extend_schema(request=GrantInput, responses={201: AuthorisationOutput})
    def post(self, request):
        data = GrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        granted = proxies.grant(principal_user=request.user, **data.validated_data)
        return Response(AuthorisationOutput(granted).data, status=status.HTTP_201_CREATED)


class AuthorisationRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=AuthorisationOutput)
    def post(self, request, authorisation_id: int):
        try:
            revoked = proxies.revoke(principal_user=request.user, authorisation_id=authorisation_id)
        except PermissionDenied as exc:
            raise exceptions.NotFound(str(exc)) from exc
        return Response(AuthorisationOutput(revoked).data)
