"""The counter workspace (pages): for a clerk at a desk with a keyboard and an ID-card reader that
types the number. Find or register the citizen, pick the service, fill the same form, tick the paper
materials, file, print the receipt. Personal data travels in POST bodies and the session, never in URLs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import ProxyAuthorisation
from accounts.services import find_citizen_by_id_number
from accounts.validators import mask_id_number
from services import catalog
from services.schema import SchemaForm

from .. import access, receipts, workflow
from ..models import Case, Channel
from . import services as counter

SESSION_KEY = "counter_citizen"


def _clerk(request: HttpRequest) -> None:
    if not counter.is_counter_clerk(request.user):
        raise Http404


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """Step 1: the citizen (by ID number) and the service."""
    _clerk(request)
    context: dict = {
        "services": catalog.published_services().filter(current_version__channel_counter=True)
    }
    if request.method == "POST":
        id_number = request.POST.get("id_number", "").strip()
        found = find_citizen_by_id_number(id_number)
        citizen = {
            "id_number": id_number,
            "real_name": found.real_name if found else request.POST.get("real_name", "").strip(),
            "phone": found.phone if found else request.POST.get("phone", "").strip(),
        }
        context.update(
            found=found, citizen=citizen, looked_up=True, masked=mask_id_number(id_number)
        )
        code = request.POST.get("service", "").strip()
        if "continue" in request.POST:
            if not found and not (citizen["real_name"] and citizen["phone"]):
                messages.error(
                    request, _("New citizen: enter the name and mobile phone from the ID card.")
                )
            elif catalog.service_for_guide(code) is None:
                messages.error(request, _("Choose a service from the list."))
            else:
                request.session[SESSION_KEY] = citizen
                request.session["counter_service"] = code
                return redirect("counter:apply")
    return render(request, "counter/desk.html", context)


@login_required
def apply(request: HttpRequest) -> HttpResponse:
    """Step 2: the service's form, the paper materials received, file."""
    _clerk(request)
    citizen = request.session.get(SESSION_KEY)
    item = catalog.service_for_guide(request.session.get("counter_service", ""))
    if not citizen or item is None:
        return redirect("counter:desk")
    version = item.current_version
    # What is on file (or was just typed from the ID card) is shown, not typed again.
    on_file = {"real_name": citizen["real_name"], "id_number": mask_id_number(citizen["id_number"]),
               "phone": citizen["phone"]}  # fmt: skip
    fixed = {
        name: on_file[source]
        for name, source in workflow.prefilled_fields(version.form_schema).items()
        if on_file.get(source)
    }
    form = SchemaForm(version.form_schema, request.POST or None, fixed=fixed)
    first = next(iter(form.fields), None)
    if first:
        form.fields[first].widget.attrs["autofocus"] = True
    status = 200
    agent = _agent_from(request)
    received = [int(m) for m in request.POST.getlist("received") if m.isdigit()]
    if request.method == "POST":
        if form.is_valid():
            try:
                case = counter.file_counter_application(
                    clerk=request.user,
                    citizen=citizen,
                    service=item,
                    data=form.cleaned_json(),
                    materials_received=received,
                    accept=request.POST.get("accept") == "on",
                    queue_ticket=request.POST.get("queue_ticket", ""),
                    agent=agent if agent["id_number"] else None,
                    scans={m.pk: request.FILES.getlist(f"scan-{m.pk}") for m in version.materials.all()},
                )  # fmt: skip
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                for field, messages_ in errors.items():
                    prefix = _("Proxy") + ": " if field.startswith("agent.") else ""
                    for message in messages_:
                        form.add_error(None, prefix + message)
            else:
                request.session.pop(SESSION_KEY, None)
                return redirect("counter:done", number=case.number)
        status = 400
    return render(
        request,
        "counter/apply.html",
        {"item": item, "version": version, "form": form, "materials": version.materials.all(),
         "citizen_name": citizen["real_name"], "masked": mask_id_number(citizen["id_number"]),
         "agent": agent, "received": received,
         "relationships": ProxyAuthorisation.Relationship.choices},
        status=status,
    )  # fmt: skip


def _agent_from(request: HttpRequest) -> dict:
    """The proxy section of the counter form (帮办代办), as typed."""
    post = request.POST
    return {
        "id_number": post.get("agent_id_number", "").strip(),
        "real_name": post.get("agent_real_name", "").strip(),
        "phone": post.get("agent_phone", "").strip(),
        "relationship": post.get("agent_relationship", ""),
        "letter_checked": post.get("agent_letter_checked") == "on",
        "letter": request.FILES.get("agent_letter"),
    }


def _waiting(clerk, profile) -> list[Case]:
    return list(
        access.results_waiting_for(clerk, profile)
        .select_related("service_version")
        .order_by("decided_at")
    )


def _filed_here(request: HttpRequest, number: str) -> Case:
    case = (
        access.cases_for_counter(request.user)
        .filter(number=number, filed_by=request.user, channel=Channel.COUNTER)
        .first()
    )
    if case is None:
        raise Http404
    return case


@login_required
def done(request: HttpRequest, number: str) -> HttpResponse:
    _clerk(request)
    return render(request, "counter/done.html", {"case": _filed_here(request, number)})


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    _clerk(request)
    case = _filed_here(request, number)
    response = HttpResponse(
        receipts.receipt_pdf(case=case, request=request), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="receipt-{case.number}.pdf"'
    return response


@login_required
def pickup(request: HttpRequest) -> HttpResponse:
    """Result handover: find what waits for the citizen, check the ID card, record who collected.
    The number typed is kept in the session, not echoed into the page or a URL."""
    _clerk(request)
    from accounts.models import CitizenProfile

    context: dict = {}
    if request.method == "POST" and "id_number" in request.POST:
        profile = find_citizen_by_id_number(request.POST.get("id_number", ""))
        request.session["counter_pickup"] = profile.pk if profile else None
        context["looked_up"] = True
    profile_id = request.session.get("counter_pickup")
    profile = CitizenProfile.objects.filter(pk=profile_id).first() if profile_id else None
    if profile is not None:
        context.update(looked_up=True, profile=profile, cases=_waiting(request.user, profile))
    number = request.POST.get("hand_over") if request.method == "POST" else None
    if profile is not None and number:
        case = next((c for c in context["cases"] if c.number == number), None)
        if case is None:
            raise Http404
        try:
            counter.hand_over(
                clerk=request.user,
                case=case,
                collected_by=request.POST.get("collected_by", ""),
                identity_checked=request.POST.get("identity_checked") == "on",
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except (workflow.CaseConflict, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            messages.success(request, _("Handed over; the application is concluded."))
            request.session["counter_handed_over"] = case.number
        return redirect("counter:pickup")
    context["handed_over"] = request.session.pop("counter_handed_over", None)
    return render(request, "counter/pickup.html", context)
