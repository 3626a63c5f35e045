"""Closing one's account (注销): the profile's page and `POST me/close/` (accounts.closure)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api import error_responses
from portal.forms import attach_errors

from . import closure, second_factor


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": gettext_lazy("Enter your password to confirm.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand: I can no longer sign in, and this cannot be undone."),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


@login_required
def close_page(request: HttpRequest) -> HttpResponse:
    """What closing does and what is kept; the password confirms it."""
    user = request.user
    staff = second_factor.is_staff_account(user)
    form = CloseAccountForm(request.POST or None)
    if request.method == "POST" and not staff and form.is_valid():
        try:
            closure.close_account(user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            logout(request)
            messages.success(request, _("Your account is closed. Thank you for using the portal."))
            return redirect("home")
    in_progress = [] if staff else list(closure.cases_in_progress(user).only("number")[:20])
    return render(
        request,
        "accounts/close.html",
        {"form": form, "staff": staff, "in_progress": in_progress},
        status=400 if form.errors else (403 if staff and request.method == "POST" else 200),
    )


class CloseAccountInput(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, write_only=True)


class CloseAccountView(APIView):
    """Close my account (注销): refused while an application of mine is in progress, and for staff.
    Afterwards the account cannot sign in, its tokens are refused, and its e-mail, phone and
    preferences are gone; name and ID number are kept only while a case on file needs them."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=CloseAccountInput,
        responses={
            204: OpenApiResponse(description="Closed; the token used is refused from now on."),
            **error_responses(400, 403),
        },
        description="400: a wrong password (`errors.password`) or applications in progress "
        "(`errors.account`, naming them). 403: a staff account.",
        operation_id="me_close",
    )
    def post(self, request):
        data = CloseAccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            closure.close_account(user=request.user, password=data.validated_data["password"])
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except ValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        if request.session is not None and request.user.is_authenticated:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
