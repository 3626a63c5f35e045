"""Pages of 预约到厅办理: book a visit from a service's guide, the confirmation with the booking code,
and "my appointments" with cancelling. The rules live in cases/hall/booking.py."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import proxies
from portal.forms import attach_errors
from portal.templatetags.zh import lang_attr, zh
from services import catalog
from services.models import localized

from . import booking
from .models import Appointment


class MarkedSelect(forms.Select):
    """A select whose Chinese options say so in an English page (an <option> holds no <span>)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if lang_attr(label):
            option["attrs"]["lang"] = "zh-Hans"
        return option


def _day_label(day: dt.date) -> str:
    return formats.date_format(day, "DATE_FORMAT") + " · " + formats.date_format(day, "l")


class ChooseDayForm(forms.Form):
    """Step 1 (GET): which centre, which day."""

    centre = forms.ChoiceField(label=gettext_lazy("Service centre"), widget=forms.RadioSelect)
    date = forms.ChoiceField(label=gettext_lazy("Day"), widget=forms.RadioSelect)

    def __init__(self, *args, centres, days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [
            (
                cs.centre.code,
                zh(f"{localized(cs.centre, 'name')} · {localized(cs.centre, 'address')}"),
            )
            for cs in centres
        ]
        self.fields["date"].choices = [(day.isoformat(), _day_label(day)) for day in days]


class BookForm(forms.Form):
    """Step 2 (POST): the time, and for a proxy, whom it is for."""

    slot = forms.TypedChoiceField(label=gettext_lazy("Time"), coerce=int, widget=forms.RadioSelect)
    principal = forms.ChoiceField(
        label=gettext_lazy("Who is coming"),
        required=False,
        widget=MarkedSelect,
        help_text=gettext_lazy("You may book for someone who authorised you (帮办代办)."),
    )

    def __init__(self, *args, slots, held, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [
            (
                slot.pk,
                _("%(start)s–%(end)s (%(left)d places left)")
                % {
                    "start": f"{timezone.localtime(slot.starts_at):%H:%M}",
                    "end": f"{timezone.localtime(slot.ends_at):%H:%M}",
                    "left": slot.places_left,
                },
            )
            for slot in slots
            if slot.places_left > 0
        ]
        if held:
            self.fields["principal"].choices = [("", _("Myself"))] + [
                (
                    str(a.pk),
                    _("%(name)s (%(relation)s), as their proxy")
                    % {"name": a.principal.real_name, "relation": a.get_relationship_display()},
                )
                for a in held
            ]
        else:
            del self.fields["principal"]


@login_required
def book_page(request: HttpRequest, code: str) -> HttpResponse:
    item = catalog.service_for_guide(code)
    if item is None:
        raise Http404
    centres = list(booking.bookable_centre_services(item))
    if not centres:
        raise Http404
    profile = getattr(request.user, "citizen_profile", None)
    held = list(proxies.held_by(request.user)) if profile is not None else []
    chosen = (
        next((cs for cs in centres if cs.centre.code == request.GET.get("centre")), None)
        if len(centres) > 1
        else centres[0]
    )
    centre_service = chosen or centres[0]
    days = booking.bookable_days(centre_service.centre)
    day_form = ChooseDayForm(
        request.GET if "date" in request.GET else None,
        centres=centres,
        days=days,
        initial={"centre": centre_service.centre.code},
    )
    day = None
    if request.GET.get("date") and day_form.is_valid():
        day = dt.date.fromisoformat(day_form.cleaned_data["date"])
    slots = []
    if day is not None:
        slots = booking.slots_of_day(centre_service, day)
    book_form = None
    if day is not None:
        book_form = BookForm(
            request.POST if request.method == "POST" else None, slots=slots, held=held
        )
        if request.method == "POST" and book_form.is_valid():
            principal = book_form.cleaned_data.get("principal")
            try:
                appointment = booking.book(
                    user=request.user,
                    slot_id=book_form.cleaned_data["slot"],
                    authorisation=booking.held_authorisation(request.user, principal)
                    if principal
                    else None,
                )
            except ValidationError as exc:
                attach_errors(book_form, exc)
            else:
                return redirect("hall-booking:detail", appointment_id=appointment.pk)
    pause = booking.booking_pause(profile, centre_service.centre) if profile else None
    return render(
        request,
        "hall/booking/book.html",
        {
            "item": item,
            "version": item.current_version,
            "profile": profile,
            "centre_service": centre_service,
            "centre": centre_service.centre,
            "single_centre": len(centres) == 1,
            "day_form": day_form,
            "day": day,
            "book_form": book_form,
            "pause": pause,
        },
    )


def _appointment(request: HttpRequest, appointment_id: int) -> Appointment:
    appointment = booking.appointments_of(request.user).filter(pk=appointment_id).first()
    if appointment is None:
        raise Http404
    return appointment


@login_required
def detail_page(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """The confirmation: the code in large print (typed or scanned at the kiosk), where and when."""
    appointment = _appointment(request, appointment_id)
    return render(
        request,
        "hall/booking/detail.html",
        {
            "appointment": appointment,
            "centre": appointment.slot.centre_service.centre,
            "cancellable_until": booking.cancellable_until(appointment),
            "may_cancel": booking.may_cancel(appointment),
        },
    )


@login_required
def mine_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [
        {
            "appointment": appointment,
            "centre": appointment.slot.centre_service.centre,
            "may_cancel": booking.may_cancel(appointment, now=now),
            "cancellable_until": booking.cancellable_until(appointment),
        }
        for appointment in booking.appointments_of(request.user)[:100]
    ]
    return render(request, "hall/booking/mine.html", {"rows": rows})


@login_required
@require_POST
def cancel_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    try:
        booking.cancel(user=request.user, appointment_id=appointment_id)
    except Appointment.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Your booking is cancelled."))
    return redirect("hall-booking:mine")
