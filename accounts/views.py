"""Account pages: register, sign in and out, passwords, profile, language and elder mode."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from portal.client_address import client_address
from portal.forms import attach_errors

from . import organisations, proxies, second_factor, services, sms_codes
from .forms import (
    PASSWORD_ADVICE,
    AuthorisationForm,
    OrganisationAgentForm,
    PasswordResetForm,
    ProfileForm,
    RegistrationForm,
    VerifyIdentityForm,
)
from .models import Language
from .validators import mask_phone, normalize_phone

# Never sent back to the page: passwords, and the code (a new one is asked for instead).
_NOT_KEPT = frozenset({"password1", "password2", "sms_code"})


def _send_code_round(
    request: HttpRequest, form_class, purpose: str, *, initial: dict | None = None
) -> tuple:
    """The "Send code" button (a submit of its own, no JavaScript needed): send a code to the phone
    typed and give back the page with everything else typed kept, the code field next.

    Returns (form, status, sent_to) for the page to render."""
    kept = {
        name: request.POST.get(name, "")
        for name in form_class.base_fields
        if name not in _NOT_KEPT and name in request.POST
    }
    if "elder_mode" in form_class.base_fields:
        kept["elder_mode"] = request.POST.get("elder_mode") == "on"
    form = form_class(initial={**(initial or {}), **kept})
    form.cleaned_data = {}  # an unbound form (nothing is validated in this round) takes add_error
    phone = request.POST.get("phone", "")
    try:
        sms_codes.send_code(phone=phone, purpose=purpose, address=client_address(request))
    except ValidationError as exc:
        for message in exc.message_dict.get("phone", exc.messages):
            form.add_error("phone", message)
        return form, 400, ""
    except sms_codes.CodeThrottled as exc:
        form.add_error("phone", exc.message)
        return form, 429, ""
    form.fields["sms_code"].widget.attrs["autofocus"] = True
    return form, 200, mask_phone(normalize_phone(phone))


def register(request: HttpRequest) -> HttpResponse:
    """Every problem at once: the form's own checks and what the service would refuse (ID number,
    phone, password strength, a taken username) come back in the same round. "Send code" sends the
    text-message code to the phone typed and keeps everything else."""
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    sent_to = ""
    if request.method == "POST" and "send_code" in request.POST:
        form, status, sent_to = _send_code_round(
            request, RegistrationForm, sms_codes.Purpose.REGISTER
        )
        return render(
            request,
            "accounts/register.html",
            {"form": form, "sent_to": sent_to},
            status=status,
        )
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        valid = form.is_valid()
        data = {name: form.cleaned_data.get(name, "") for name in form.fields}
        try:
            user = services.register_citizen(
                username=data["username"],
                password=data["password1"],
                real_name=data["real_name"],
                id_number=data["id_number"],
                phone=data["phone"],
                sms_code=data["sms_code"],
                email=data["email"] or "",
                preferred_language=request.LANGUAGE_CODE
                if request.LANGUAGE_CODE in Language.values
                else Language.ZH_HANS,
                dry_run=not valid,
            )
        except ValidationError as exc:
            errors = exc.message_dict
            if "password" in errors:
                errors["password1"] = [*errors.pop("password"), str(PASSWORD_ADVICE)]
            for field, messages_ in errors.items():
                if field in form.errors:
                    continue  # already told what to do there (e.g. "enter it")
                for message in messages_:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if user is not None:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome! Your account is ready."))
                return redirect("accounts:profile")
    return render(
        request,
        "accounts/register.html",
        {"form": form, "sent_to": sent_to},
        status=400 if form.errors else 200,
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    citizen = getattr(user, "citizen_profile", None)
    initial = {
        "phone": citizen.phone if citizen else "",
        "email": user.email,
        "preferred_language": user.preferred_language,
        "elder_mode": user.elder_mode,
    }
    context = {
        "citizen": citizen,
        "memberships": user.memberships.select_related("department"),
        "represented": organisations.represented_by(user),
        "sent_to": "",
    }
    if request.method == "POST" and "send_code" in request.POST and citizen is not None:
        form, status, context["sent_to"] = _send_code_round(
            request, ProfileForm, sms_codes.Purpose.CHANGE_PHONE, initial=initial
        )
        return render(request, "accounts/profile.html", {**context, "form": form}, status=status)
    form = ProfileForm(request.POST or None, initial=initial)
    if citizen is None:
        form.fields.pop("phone")
        form.fields.pop("sms_code")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_profile(
                user=user,
                phone=data.get("phone"),
                sms_code=data.get("sms_code", ""),
                email=data["email"],
                preferred_language=data["preferred_language"],
                elder_mode=data["elder_mode"],
            )
        except ValidationError as exc:
            for field, messages_ in exc.message_dict.items():
                for message in messages_:
                    form.add_error(field if field in form.fields else "phone", message)
        else:
            request.session["preferred_language"] = user.preferred_language
            request.session["elder_mode"] = user.elder_mode
            messages.success(request, _("Your profile is saved."))
            response = redirect("accounts:profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.preferred_language,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
    status = 400 if form.errors else 200
    return render(request, "accounts/profile.html", {**context, "form": form}, status=status)


@login_required
def verify_identity(request: HttpRequest) -> HttpResponse:
    """实名认证 of an account without it: a code to the phone on file, then the identity provider's
    check of the name, ID number and phone (services.verify_my_identity)."""
    citizen = getattr(request.user, "citizen_profile", None)
    if citizen is None:
        raise Http404
    if citizen.is_verified:
        return redirect("accounts:profile")
    form = VerifyIdentityForm(request.POST if "verify" in request.POST else None)
    sent_to, status = "", 200
    if request.method == "POST" and "send_code" in request.POST:
        form.cleaned_data = {}  # an unbound form (nothing is validated in this round) takes add_error
        try:
            sms_codes.send_code(
                phone=citizen.phone,
                purpose=sms_codes.Purpose.VERIFY,
                address=client_address(request),
            )
        except sms_codes.CodeThrottled as exc:
            form.add_error(None, exc.message)
            status = 429
        else:
            sent_to = citizen.masked_phone
            form.fields["sms_code"].widget.attrs["autofocus"] = True
    elif request.method == "POST" and form.is_valid():
        try:
            services.verify_my_identity(user=request.user, sms_code=form.cleaned_data["sms_code"])
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Your identity is verified (实名认证)."))
            return redirect("accounts:profile")
    if form.errors and status == 200:
        status = 400
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "citizen": citizen, "sent_to": sent_to},
        status=status,
    )


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        url = "/"
    return url


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, which also remembers the choice on the account."""
    response = set_language(request)
    language = request.POST.get("language")
    if language in Language.values:
        request.session["preferred_language"] = language
        if request.user.is_authenticated:
            services.update_profile(user=request.user, preferred_language=language)
    return response


@require_POST
def toggle_elder_mode(request: HttpRequest) -> HttpResponse:
    """Elder mode (长辈模式) on or off, for this visit and, when signed in, for the account."""
    enabled = request.POST.get("elder_mode") == "on"
    request.session["elder_mode"] = enabled
    if request.user.is_authenticated:
        services.update_profile(user=request.user, elder_mode=enabled)
    return HttpResponseRedirect(_next_url(request))


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    url = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    return url


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Staff set up an authenticator app: first the enrolment code an admin gave them, then scan
    the QR code (or type the key) and confirm with the first code the app shows."""
    user = request.user
    if second_factor.has_authenticator(user):
        return redirect(f"{reverse('accounts:2fa_verify')}?next={_safe_next(request)}")
    device = second_factor.pending_setup(request=request, user=user)
    error = ""
    if request.method == "POST" and "enrolment_code" in request.POST:
        device = second_factor.start_setup(
            request=request, user=user, enrolment_code=request.POST["enrolment_code"]
        )
        if device is None:
            error = _(
                "That enrolment code is not valid: it may be mistyped, used or expired. "
                "Ask your administrator for a new one."
            )
    elif request.method == "POST" and device is not None:
        if second_factor.confirm_setup(
            request=request, user=user, code=request.POST.get("code", "")
        ):
            messages.success(request, _("Your authenticator is set up."))
            return redirect(_safe_next(request))
        error = _("That code is not right. Enter the 6 digits the app shows now.")
    elif request.method == "POST":
        error = _("Enter the enrolment code from your administrator first.")
    context = {"error": error, "next": _safe_next(request), "device": device}
    if device is not None:
        context |= {
            "qr": second_factor.setup_qr_svg(device),
            "secret": second_factor.manual_key(device),
        }
    return render(request, "accounts/2fa_setup.html", context, status=400 if error else 200)


@login_required
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    if not second_factor.has_authenticator(request.user):
        return redirect(f"{reverse('accounts:2fa_setup')}?next={_safe_next(request)}")
    error = ""
    if request.method == "POST":
        if second_factor.verify_code(
            request=request, user=request.user, code=request.POST.get("code", "")
        ):
            return redirect(_safe_next(request))
        error = _("That code is not right. Enter the 6 digits the app shows now.")
    return render(
        request,
        "accounts/2fa_verify.html",
        {"error": error, "next": _safe_next(request)},
        status=400 if error else 200,
    )


@login_required
def authorisations(request: HttpRequest) -> HttpResponse:
    """Who may apply for me (I authorised them), and for whom I may apply (帮办代办)."""
    form = AuthorisationForm(request.POST or None if "grant" in request.POST else None)
    if request.method == "POST" and "revoke" in request.POST:
        try:
            proxies.revoke(principal_user=request.user, authorisation_id=request.POST["revoke"])
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The authorisation is revoked."))
        return redirect("accounts:authorisations")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            granted = proxies.grant(
                principal_user=request.user,
                agent_id_number=data["agent_id_number"],
                agent_real_name=data["agent_real_name"],
                relationship=data["relationship"],
                valid_until=data["valid_until"],
                shares_documents=data["shares_documents"],
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s may now apply for you until %(date)s.")
                % {"name": granted.agent.real_name, "date": granted.valid_until.isoformat()},
            )
            return redirect("accounts:authorisations")
    return render(
        request,
        "accounts/authorisations.html",
        {
            "form": form,
            "citizen": getattr(request.user, "citizen_profile", None),
            "given": proxies.given_by(request.user),
            "held": proxies.held_by(request.user),
            "today": timezone.localdate(),
        },
        status=400 if form.errors else 200,
    )


@login_required
def organisation_agents(request: HttpRequest, uscc: str) -> HttpResponse:
    """法人授权: the legal representative adds agents for a period and ends their authorisations."""
    try:
        organisation = organisations.organisation_for_representative(request.user, uscc)
    except PermissionDenied as exc:
        raise Http404(str(exc)) from exc
    form = OrganisationAgentForm(request.POST if "authorise" in request.POST else None)
    if request.method == "POST" and "end" in request.POST:
        try:
            organisations.end_agent_authorisation(
                actor=request.user, organisation=organisation, agency_id=request.POST["end"]
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The authorisation has ended."))
        return redirect("accounts:organisation_agents", uscc=organisation.uscc)
    if request.method == "POST" and form.is_valid():
        try:
            agency = organisations.authorise_agent(
                actor=request.user, organisation=organisation, **form.cleaned_data
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s may act for the organisation until %(date)s.")
                % {"name": agency.user.first_name or agency.user.username,
                   "date": agency.valid_until.isoformat()},
            )  # fmt: skip
            return redirect("accounts:organisation_agents", uscc=organisation.uscc)
    return render(
        request,
        "accounts/organisation_agents.html",
        {
            "organisation": organisation,
            "agents": organisations.agents_of(organisation),
            "form": form,
            "today": timezone.localdate(),
        },
        status=400 if form.errors else 200,
    )
