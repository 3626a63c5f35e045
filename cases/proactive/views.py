"""The citizen's pages of 免申即享: my offers (`/offers/`), with one-click confirm, decline and opt
out; the home page shows the open ones (templates/proactive/banner.html)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import proxies

from ..models import ProactiveOffer
from ..workflow.errors import CaseConflict
from . import services as proactive


def offer_message(offer: ProactiveOffer, *, principal: str = "") -> str:
    """ "您已符合 X，一键确认即可" and its kin, in the reader's language; to a proxy (帮办代办),
    about `principal` (their masked name)."""
    values = {"service": offer.service.current_version.label, "person": principal}
    state = ProactiveOffer.State
    if principal:
        if offer.state == state.OFFERED:
            return _("%(person)s qualifies for %(service)s: as their proxy you may confirm it "
                     "for them with one click, or decline it.") % values  # fmt: skip
        if offer.state == state.CONFIRMED:
            return _("You confirmed %(service)s for %(person)s: the application is filed.") % values
        return _("You declined %(service)s for %(person)s; they will not be asked again.") % values
    if offer.state == state.OFFERED:
        return _("You qualify for %(service)s: confirm with one click.") % values
    if offer.state == state.GRANTED:
        return _("%(service)s was granted to you without applying; you may opt out.") % values
    if offer.state == state.CONFIRMED:
        return _("You confirmed %(service)s: your application is filed.") % values
    if offer.state == state.DECLINED:
        return _("You declined %(service)s; you will not be asked again.") % values
    return _("You opted out of %(service)s; it will not be granted again.") % values


def principal_label(offer: ProactiveOffer) -> str:
    """The person a proxy answers for, as the proxy reads it: the name masked (张*明)."""
    from ..licences.services import mask_name

    return mask_name(offer.person.real_name)


@login_required
def offers_page(request: HttpRequest) -> HttpResponse:
    """My offers, then those of the people I act for (帮办代办), one group per person."""
    offers = list(proactive.offers_of(request.user))
    for offer in offers:
        offer.message = offer_message(offer)
    relationships = {
        a.principal_id: a.get_relationship_display() for a in proxies.held_by(request.user)
    }
    groups: dict[int, dict] = {}
    for offer in proactive.principal_offers_for(request.user):
        name = principal_label(offer)
        offer.message = offer_message(offer, principal=name)
        group = groups.setdefault(
            offer.person_id,
            {"name": name, "relationship": relationships.get(offer.person_id, ""), "offers": []},
        )
        group["offers"].append(offer)
    return render(
        request,
        "proactive/offers.html",
        {"offers": offers, "principals": list(groups.values())},
    )


ANSWERS = {
    "confirm": proactive.confirm_offer,
    "decline": proactive.decline_offer,
    "opt-out": proactive.opt_out,
}


@login_required
@require_POST
def answer(request: HttpRequest, offer_id: int, action: str) -> HttpResponse:
    if action not in ANSWERS:
        raise Http404
    kwargs = {} if action == "confirm" else {"reason": request.POST.get("reason", "")[:300]}
    try:
        offer = ANSWERS[action](offer_id=offer_id, user=request.user, **kwargs)
    except ProactiveOffer.DoesNotExist:
        raise Http404 from None
    except (CaseConflict, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("proactive:offers")
    principal = "" if offer.person.user_id == request.user.pk else principal_label(offer)
    if action == "confirm" and offer.case is not None:
        if offer.case.is_draft:
            messages.info(request, _("Almost done: complete the few answers still needed."))
            return redirect("cases:form", offer.case.number)
        messages.success(request, offer_message(offer, principal=principal))
        return redirect("cases:detail", offer.case.number)
    messages.success(request, offer_message(offer, principal=principal))
    return redirect("proactive:offers")
