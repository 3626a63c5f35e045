"""The hall's pages (排队叫号): the kiosk a tablet shows at the door, the clerk's desk, the public
display over the waiting area, and the citizen's ticket on their phone. No ID number in a URL or
a page: the kiosk posts it, the desk keeps who is served in the counter's encrypted session."""

from __future__ import annotations

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import ratelimit
from portal.client_address import client_address
from portal.forms import attach_errors
from portal.templatetags.zh import zh
from services.models import localized

from .. import access_log
from ..counter import views as counter_views
from . import queue
from .models import ServiceCentre, Ticket, Window


def _centre(code: str) -> ServiceCentre:
    return get_object_or_404(ServiceCentre, code=code, active=True)


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return zh(localized(obj.current_version, "name")) if obj.current_version else obj.code


class AppointmentForm(forms.Form):
    appointment_code = forms.CharField(
        label=gettext_lazy("Appointment code"),
        max_length=12,
        help_text=gettext_lazy("The 8 letters and digits in your booking message."),
        error_messages={"required": gettext_lazy("Enter the code of your appointment.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class WalkInForm(forms.Form):
    id_number = forms.CharField(
        label=gettext_lazy("ID number (optional)"),
        max_length=24,
        required=False,
        help_text=gettext_lazy(
            "With your ID number, an appointment you booked for today is found, and the clerk "
            "need not ask for it again."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    service = ServiceChoiceField(
        label=gettext_lazy("Service"),
        queryset=None,
        required=False,
        empty_label=None,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, centre: ServiceCentre, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = queue.served_services(centre)


def _issue(centre: ServiceCentre, form: forms.Form) -> Ticket | None:
    """The ticket the form asks for, or None with the refusal on the form."""
    if not form.is_valid():
        return None
    try:
        return queue.issue_ticket(centre=centre, **form.cleaned_data)
    except ValidationError as exc:
        attach_errors(form, exc)
        return None


def kiosk(request: HttpRequest, centre: str) -> HttpResponse:
    """The tablet at the door (取号机): by appointment code, or without one for a service. No
    sign-in; limited per address so that nobody can empty the day's numbers."""
    centre_obj = _centre(centre)
    code_form = AppointmentForm(prefix="a")
    walk_in_form = WalkInForm(prefix="w", centre=centre_obj)
    status = 200
    if request.method == "POST":
        key = ratelimit.key_for("hall-kiosk", client_address(request) or "unknown")
        wait = ratelimit.retry_after(key, settings.HALL_KIOSK_LIMIT)
        if wait is not None:
            response = render(
                request, "hall/queue/busy.html", {"centre": centre_obj, "wait": wait}, status=429
            )
            response["Retry-After"] = str(wait)
            return response
        ratelimit.hit(key, settings.HALL_KIOSK_WINDOW_SECONDS)
        if "walk_in" in request.POST:
            form = walk_in_form = WalkInForm(request.POST, prefix="w", centre=centre_obj)
        else:
            form = code_form = AppointmentForm(request.POST, prefix="a")
        ticket = _issue(centre_obj, form)
        if ticket is not None:
            return redirect(reverse("hall:ticket", args=[ticket.token]) + "?kiosk=1")
        status = 400
    return render(
        request,
        "hall/queue/kiosk.html",
        {"centre": centre_obj, "code_form": code_form, "walk_in_form": walk_in_form,
         "form": code_form if code_form.errors else walk_in_form},
        status=status,
    )  # fmt: skip


def ticket_page(request: HttpRequest, token: str) -> HttpResponse:
    """The citizen's ticket (on their phone, or on the kiosk just after taking it): number,
    state, place in the queue, the window once called. Nothing personal."""
    ticket = get_object_or_404(
        Ticket.objects.select_related(
            "centre", "window", "service__current_version", "appointment__slot"
        ),
        token=token,
    )
    url = request.build_absolute_uri(reverse("hall:ticket", args=[ticket.token]))
    return render(
        request,
        "hall/queue/ticket.html",
        {"ticket": ticket, "place": queue.place_in_queue(ticket), "kiosk": "kiosk" in request.GET,
         "phone_url": url, "qr": segno.make(url, error="m").svg_data_uri(scale=4),
         "status_url": reverse("api-hall-ticket", args=[ticket.token])},
    )  # fmt: skip


def display(request: HttpRequest, centre: str) -> HttpResponse:
    """The screen over the waiting area: the latest calls and how many wait per service; it
    refreshes itself from `GET hall/centres/{code}/display/` and may chime on a new call."""
    centre_obj = _centre(centre)
    return render(
        request,
        "hall/queue/display.html",
        {"centre": centre_obj, "calls": queue.last_calls(centre_obj),
         "waiting": queue.waiting_counts(centre_obj),
         "feed_url": reverse("api-hall-display", args=[centre_obj.code])},
    )  # fmt: skip


# --- The clerk's desk ----------------------------------------------------------------------------

WINDOW_KEY = "hall_window"
ACTIONS = {
    "call": queue.call_next,
    "recall": queue.recall,
    "no_show": queue.mark_no_show,
    "start": queue.start_service,
    "finish": queue.finish,
}


class WindowForm(forms.Form):
    window = forms.ModelChoiceField(label=gettext_lazy("Your window"), queryset=None)

    def __init__(self, *args, centre: ServiceCentre, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].queryset = Window.objects.filter(centre=centre, active=True)
        self.fields["window"].label_from_instance = lambda w: (
            _("Window %(number)s") % {"number": w.number} + (f" · {w.label}" if w.label else "")
        )


class ClerkIssueForm(WalkInForm):
    appointment_code = forms.CharField(
        label=gettext_lazy("Appointment code"), max_length=12, required=False
    )
    field_order = ["appointment_code", "id_number", "service"]


def _window(request: HttpRequest, centre: ServiceCentre) -> Window | None:
    window_id = request.session.get(WINDOW_KEY, {}).get(str(centre.pk))
    if window_id is None:
        return None
    return (
        Window.objects.filter(pk=window_id, centre=centre, active=True)
        .prefetch_related("services__current_version")
        .first()
    )


def _start_intake(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Into the counter with the citizen already identified, and the ticket on the form."""
    request.session[counter_views.QUEUE_TICKET_KEY] = ticket.number
    citizen = queue.citizen_for_counter(ticket)
    if citizen is None:  # a walk-in with no ID number: the clerk identifies them at the desk
        return redirect("counter:desk")
    access_log.clerk_looked_up(request.user, ticket.citizen)
    counter_views._keep_citizen(request, citizen)
    request.session["counter_service"] = ticket.service.code
    return redirect("counter:apply")


@login_required
def desk(request: HttpRequest, centre: str) -> HttpResponse:
    """Call the next citizen for the services of the clerk's window, recall, mark a no-show,
    start the counter intake, finish. Every button has an access key and the next likely one
    takes the focus."""
    if not queue.may_call(request.user):
        raise Http404
    centre_obj = _centre(centre)
    window = _window(request, centre_obj)
    window_form = WindowForm(initial={"window": window}, centre=centre_obj)
    issue_form = ClerkIssueForm(prefix="t", centre=centre_obj)
    problem, issued, status = "", None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "window":
            window_form = WindowForm(request.POST, centre=centre_obj)
            if window_form.is_valid():
                chosen = request.session.get(WINDOW_KEY, {})
                chosen[str(centre_obj.pk)] = window_form.cleaned_data["window"].pk
                request.session[WINDOW_KEY] = chosen
                return redirect("hall:desk", centre=centre_obj.code)
            status = 400
        elif action == "issue":
            issue_form = ClerkIssueForm(request.POST, prefix="t", centre=centre_obj)
            issued = _issue(centre_obj, issue_form)
            if issued is None:
                status = 400
            else:
                issue_form = ClerkIssueForm(prefix="t", centre=centre_obj)
        elif action in ACTIONS and window is not None:
            try:
                ticket = ACTIONS[action](window=window, clerk=request.user)
            except ValidationError as exc:
                problem, status = " ".join(exc.messages), 400
            else:
                if action == "start":
                    return _start_intake(request, ticket)
                if action == "call" and ticket is None:
                    problem = _("Nobody is waiting for the services of this window.")
                else:
                    return redirect("hall:desk", centre=centre_obj.code)
    current = queue.current_ticket(window) if window else None
    waiting = (
        list(queue.waiting_for(window).select_related("service__current_version")[:30])
        if window
        else []
    )
    return render(
        request,
        "hall/queue/desk.html",
        {"centre": centre_obj, "window": window, "window_form": window_form,
         "issue_form": issue_form, "issued": issued, "current": current, "waiting": waiting,
         "problem": problem, "form": window_form if window_form.errors else issue_form},
        status=status,
    )  # fmt: skip
