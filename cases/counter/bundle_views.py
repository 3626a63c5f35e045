"""A bundle (一件事) at the counter (pages): after the desk, the bundle's one combined form, the
paper materials ticked and scanned once per material of the bundle, one filing; then every member
case with its number, department and state, what the registries gave, and the printable receipt
of the bundle (the citizen's own receipt page). Personal data travels in POST bodies and the
session, never in URLs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.services import find_citizen_by_id_number
from accounts.validators import mask_id_number, mask_phone
from services import bundles as definitions
from services.models import MaterialSource

from .. import workflow
from ..bundles.forms import flat_error_name, flat_schema, unflatten
from ..bundles.views import _status_context
from ..models import BundleApplication, Channel
from ..sharing import services as sharing
from . import services as counter
from .forms import CounterApplicationForm
from .views import SESSION_KEY, _clerk, _keep_citizen, _kept_citizen, _received

SESSION_BUNDLE = "counter_bundle"


def _bundle(request: HttpRequest):
    code = request.session.get(SESSION_BUNDLE, "")
    return definitions.published_bundles().filter(code=code).first() if code else None


def _form(schema: dict, citizen: dict, data, files, *, on_file: bool, rows=None):
    """The counter's form around the bundle's one form (flattened as the citizen's page shows
    it): the identity fields are filled by the server for every member, so none is asked."""
    flat, where = flat_schema(schema)
    form = CounterApplicationForm(
        flat, data, files or None, rows=rows, citizen=citizen, correctable=not on_file
    )
    return form, where


def _filing_errors(exc: ValidationError, where: dict) -> ValidationError:
    """The combined form's paths ("data.insurance.category") as the page's field names."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    named: dict[str, list[str]] = {}
    for key, problems in errors.items():
        target = flat_error_name(key, where) if key.startswith("data.") else None
        named.setdefault(target or key, []).extend(problems)
    return ValidationError(named)


def _material_rows(bundle, members) -> list[dict]:
    """The bundle's materials as the clerk ticks them: each once, with the services it serves."""
    names = {m.service.code: m.service.current_version.label for m in members}
    return [
        {**material, "serves": [names[code] for code in material["members"]]}
        for material in definitions.combined_materials(bundle, members)
        if material["source"] != MaterialSource.FORM
    ]


@login_required
def bundle_apply(request: HttpRequest) -> HttpResponse:
    """The bundle's one form at the counter, for the citizen found or registered at the desk (or
    their proxy); on any error everything typed and ticked stays (scans are chosen again)."""
    _clerk(request)
    citizen = _kept_citizen(request)
    bundle = _bundle(request)
    if not citizen or bundle is None:
        return redirect("counter:desk")
    members = definitions.members_of(bundle)
    schema = definitions.combined_schema(bundle, members)
    materials = _material_rows(bundle, members)
    on_file = find_citizen_by_id_number(citizen["id_number"]) is not None
    post = request.POST if request.method == "POST" else None
    form, where = _form(schema, citizen, post, request.FILES, on_file=on_file)
    if post is not None and "_add_row" in post:
        rows = form.add_row_to(post["_add_row"])
        form, where = _form(schema, citizen, post, request.FILES, on_file=on_file, rows=rows)
        form.full_clean()
        form.quiet()
    elif post is not None and form.is_valid():
        try:
            application = counter.file_counter_bundle(
                clerk=request.user,
                citizen=form.citizen(citizen),
                bundle=bundle,
                data=unflatten(form.cleaned_json(), where),
                materials_received=_received(request),
                accept=form.accept,
                queue_ticket=form.queue_ticket,
                agent=form.agent(),
                scans={m["id"]: request.FILES.getlist(f"scan-{m['id']}") for m in materials},
            )
        except ValidationError as exc:
            form.add_filing_errors(_filing_errors(exc, where))
        else:
            request.session.pop(SESSION_KEY, None)
            request.session.pop(SESSION_BUNDLE, None)
            return redirect("counter:bundle-done", number=application.number)
    if form.is_bound:
        citizen = form.citizen(citizen)
        _keep_citizen(request, citizen)
    first = next((name for name in form.fields if not name.startswith(("citizen-",))), None)
    if first and not form.errors:
        form.fields[first].widget.attrs["autofocus"] = True
    return render(
        request,
        "counter/bundle_apply.html",
        {"bundle": bundle, "form": form, "materials": materials,
         "departments": [m.service.department for m in members],
         "citizen_name": citizen["real_name"], "masked": mask_id_number(citizen["id_number"]),
         "masked_phone": mask_phone(citizen["phone"]), "received": _received(request)},
        status=400 if form.errors else 200,
    )  # fmt: skip


def _filed_here(request: HttpRequest, number: str) -> BundleApplication:
    application = (
        BundleApplication.objects.filter(
            number=number, filed_by=request.user, channel=Channel.COUNTER
        )
        .select_related("bundle", "applicant")
        .prefetch_related(
            "member_cases__service__department",
            "member_cases__service__current_version",
            "member_cases__case__service_version",
            "member_cases__member__waits__waits_for__service",
        )
        .first()
    )
    if application is None:
        raise Http404
    return application


def _shared_rows(application: BundleApplication) -> list[dict]:
    """What each member's registries gave at filing, one row per member case and material, and
    the materials (by name, once) the clerk may still take on paper and scan."""
    rows = []
    for link in application.member_cases.all():
        if link.case is None:
            continue
        for row in sharing.staff_view(link.case):
            rows.append({**row, "case": link.case.number, "service": link.case.service_version})
    return rows


@login_required
def bundle_done(request: HttpRequest, number: str) -> HttpResponse:
    """The bundle filed: its number, every member case, what the registries gave. A shared
    material its registry could not give may be scanned here, once for every case lacking it."""
    _clerk(request)
    application = _filed_here(request, number)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [_("Choose the scan of the paper document.")]
        else:
            try:
                counter.scan_shared_instead(
                    clerk=request.user, application=application,
                    material_name=request.POST.get("material", ""), upload=upload,
                )  # fmt: skip
            except ValidationError as exc:
                errors = exc.messages
            except workflow.CaseConflict as exc:
                errors = [exc.message]
            else:
                messages.success(request, _("Scanned: it serves every application lacking it."))
                return redirect("counter:bundle-done", number=number)
        status = 400
        application = _filed_here(request, number)
    shared = _shared_rows(application)
    missing = []
    for row in shared:
        if not row["verified"] and not row["uploaded"] and row["material_name"] not in missing:
            missing.append(row["material_name"])
    names = {}
    for link in application.member_cases.all():
        if link.case is None:
            continue
        for material in link.case.service_version.materials.filter(source=MaterialSource.SHARED):
            names.setdefault(material.label, material.name)
    return render(
        request,
        "counter/bundle_done.html",
        {
            **_status_context(application),
            "shared": shared,
            "scan_instead": [
                {"label": label, "name": names.get(label, label)} for label in missing
            ],
            "scan_errors": [{"text": e, "href": "#scan-file"} for e in errors],
        },
        status=status,
    )


@login_required
def bundle_receipt(request: HttpRequest, number: str) -> HttpResponse:
    """The bundle's one receipt (收件凭证), the page the citizen gets online, printed for them."""
    _clerk(request)
    application = _filed_here(request, number)
    return render(
        request, "bundles/receipt.html", {**_status_context(application), "counter": True}
    )
