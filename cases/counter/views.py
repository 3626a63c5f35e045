"""The counter workspace (pages): for a clerk at a desk with a keyboard and an ID-card reader that
types the number. Find or register the citizen, pick the service, fill the same form, tick the paper
materials, file, print the receipt. Personal data travels in POST bodies and the session, never in URLs."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import crypto
from accounts.services import find_citizen_by_id_number
from accounts.validators import mask_id_number, mask_phone
from services import catalog
from services.models import MaterialSource

from .. import access, access_log, documents, receipts, workflow
from ..models import Case, Channel, OfficialDocument
from ..payments import services as payments
from ..sharing import services as sharing
from . import picker
from . import services as counter
from .forms import TICKET, CounterApplicationForm, DeskForm, PickupForm

SESSION_KEY = "counter_citizen"
QUEUE_TICKET_KEY = "counter_queue_ticket"  # the hall ticket being served (cases.hall.queue_views)


def _clerk(request: HttpRequest) -> None:
    if not counter.is_counter_clerk(request.user):
        raise Http404


def _keep_citizen(request: HttpRequest, citizen: dict) -> None:
    """The citizen being served, between the desk and the form: encrypted in the session row
    (accounts.crypto, the key that guards ID numbers at rest), never the ID number or phone in
    clear."""
    request.session[SESSION_KEY] = crypto.encrypt(json.dumps(citizen, ensure_ascii=False))


def _kept_citizen(request: HttpRequest) -> dict | None:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None  # nothing kept, or a session from before encryption: start at the desk
    try:
        return json.loads(crypto.decrypt(token))
    except (ValueError, TypeError, ImproperlyConfigured):  # e.g. the key was rotated away
        return None


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """Step 1: the citizen (by ID number) and the service. A mistyped number is refused at lookup,
    beside the field; a corrected one is looked up again with everything else typed kept."""
    _clerk(request)
    services = picker.counter_services()
    bundles = picker.counter_bundles()
    form = DeskForm(
        request.POST if request.method == "POST" else None,
        services=services,
        bundles=bundles,
        continuing="continue" in request.POST,
    )
    status = 200
    if form.is_bound:
        found = form.is_valid() and getattr(form, "found", None)
        if found and "continue" not in request.POST:  # the look-up, written down once
            access_log.clerk_looked_up(request.user, found)
        if form.ready:
            _keep_citizen(request, form.citizen())
            if picker.is_bundle(form.service_item):  # 一件事: the bundle's one form
                request.session.pop("counter_service", None)
                request.session["counter_bundle"] = form.service_item.code
                return redirect("counter:bundle-apply")
            request.session.pop("counter_bundle", None)
            request.session["counter_service"] = form.service_item.code
            return redirect("counter:apply")
        status = 400 if form.errors else 200
        if not form.errors:  # the cursor goes where work continues
            target = "service" if form.found else "real_name"
            form.fields[target].widget.attrs["autofocus"] = True
    else:
        form.fields["id_number"].widget.attrs["autofocus"] = True
    return render(
        request,
        "counter/desk.html",
        {"form": form, "choices": picker.choices(services, bundles),
         "masked": mask_id_number(form.number or "")},
        status=status,
    )  # fmt: skip


@login_required
def apply(request: HttpRequest) -> HttpResponse:
    """Step 2: the service's form, the paper materials received, file. A citizen registered here
    and now can have their number, name and phone corrected on this page; on any error everything
    typed and ticked stays (a browser keeps no chosen file: scans are chosen again)."""
    _clerk(request)
    citizen = _kept_citizen(request)
    item = catalog.service_for_guide(request.session.get("counter_service", ""))
    if not citizen or item is None:
        return redirect("counter:desk")
    version = item.current_version
    on_file = find_citizen_by_id_number(citizen["id_number"]) is not None
    post = request.POST if request.method == "POST" else None
    form = _application_form(version, citizen, post, request.FILES, on_file=on_file)
    if post is None and request.session.get(QUEUE_TICKET_KEY):  # called from the hall's desk
        form.fields[TICKET].initial = request.session[QUEUE_TICKET_KEY]
    if post is not None and "_add_row" in post:
        # One more entry in a list: shown again with everything kept, nothing filed or refused.
        rows = form.add_row_to(post["_add_row"])
        form = _application_form(version, citizen, post, request.FILES, on_file=on_file, rows=rows)
        form.full_clean()
        form.quiet()
    elif post is not None and form.is_valid():
        try:
            case = counter.file_counter_application(
                clerk=request.user,
                citizen=form.citizen(citizen),
                service=item,
                data=form.cleaned_json(),
                materials_received=_received(request),
                accept=form.accept,
                commitment_signed=form.commitment,
                queue_ticket=form.queue_ticket,
                agent=form.agent(),
                scans={
                    m.pk: request.FILES.getlist(f"scan-{m.pk}") for m in version.materials.all()
                },
            )
        except ValidationError as exc:
            form.add_filing_errors(exc)
        else:
            request.session.pop(SESSION_KEY, None)
            request.session.pop(QUEUE_TICKET_KEY, None)
            return redirect("counter:done", number=case.number)
    if form.is_bound:
        # A correction that holds is kept for the next try, and named at the top of the page.
        citizen = form.citizen(citizen)
        _keep_citizen(request, citizen)
    first = next((name for name in form.fields if "-" not in name), None)
    if first and not form.errors:
        form.fields[first].widget.attrs["autofocus"] = True
    return render(
        request,
        "counter/apply.html",
        {"item": item, "version": version, "form": form,
         "materials": version.materials.exclude(source=MaterialSource.FORM),
         "citizen_name": citizen["real_name"], "masked": mask_id_number(citizen["id_number"]),
         "masked_phone": mask_phone(citizen["phone"]), "received": _received(request)},
        status=400 if form.errors else 200,
    )  # fmt: skip


def _application_form(version, citizen: dict, data, files, *, on_file: bool, rows=None):
    """The counter's form for `citizen`: what is on file (or was just typed from the ID card) is
    shown in the service's own fields, not typed again."""
    shown = {"real_name": citizen["real_name"], "id_number": mask_id_number(citizen["id_number"]),
             "phone": citizen["phone"]}  # fmt: skip
    fixed = {
        name: shown[source]
        for name, source in workflow.prefilled_fields(version.form_schema).items()
        if shown.get(source)
    }
    return CounterApplicationForm(
        version.form_schema, data, files or None, rows=rows, fixed=fixed, citizen=citizen,
        correctable=not on_file,
        commitment=version.commitment_text if version.allows_commitment else "",
    )  # fmt: skip


def _received(request: HttpRequest) -> list[int]:
    """The paper materials ticked as received."""
    return [int(m) for m in request.POST.getlist("received") if m.isdigit()]


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
    case = _filed_here(request, number)
    printable = [
        {**row, "url": reverse("counter:document", args=[case.number, row["id"]])}
        for row in documents.listing(case, request, api=False)
        if row["kind"] != OfficialDocument.Kind.LICENCE
    ]
    return render(
        request,
        "counter/done.html",
        {
            "case": case,
            "owed": workflow.owed_materials(case),
            "documents": printable,
            "shared": sharing.staff_view(case),
            "fee": payments.fee_of(case),
        },
    )


@login_required
def document(request: HttpRequest, number: str, document_id: int) -> HttpResponse:
    """Any official document of a case filed here (the receipt, a 受理通知书 of an item decided
    on the spot ...): the same sealed file the citizen finds online, printed for them."""
    _clerk(request)
    case = _filed_here(request, number)
    found = documents.documents_of(case).filter(pk=document_id).first()
    if found is None:
        raise Http404
    return documents.pdf_response(document=found)


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    _clerk(request)
    case = _filed_here(request, number)
    response = HttpResponse(
        receipts.receipt_pdf(case=case),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = f'attachment; filename="receipt-{case.number}.pdf"'
    return response


@login_required
def pickup(request: HttpRequest) -> HttpResponse:
    """Result handover: find what waits for the citizen, check the ID card, record who collected.
    The number typed is kept in the session, not echoed into the page or a URL."""
    _clerk(request)
    from accounts.models import CitizenProfile

    lookup = PickupForm(request.POST if "id_number" in request.POST else None)
    context: dict = {"lookup": lookup}
    if lookup.is_bound:
        profile = (
            find_citizen_by_id_number(lookup.cleaned_data["id_number"])
            if lookup.is_valid()
            else None
        )
        request.session["counter_pickup"] = profile.pk if profile else None
        context["looked_up"] = lookup.is_valid()
        if lookup.is_valid():  # the number is not echoed back into the page
            context["lookup"] = PickupForm()
    profile_id = request.session.get("counter_pickup")
    profile = CitizenProfile.objects.filter(pk=profile_id).first() if profile_id else None
    if profile is not None:
        context.update(looked_up=True, profile=profile, cases=_waiting(request.user, profile))
        context["fees_due"] = {
            case.number: fee
            for case in context["cases"]
            if (fee := payments.fee_of(case)) is not None and fee.outstanding
        }
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
    return render(
        request, "counter/pickup.html", context, status=400 if context["lookup"].errors else 200
    )
