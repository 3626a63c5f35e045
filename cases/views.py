"""The applicant's pages: apply in steps (form, materials, review), my applications, a case's page
with its timeline, answering a request for documents, withdrawing, the receipt and documents."""

from __future__ import annotations

import contextlib
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import organisations, proxies
from accounts.validators import mask_id_number
from portal.forms import attach_errors
from portal.templatetags.error_summary import error_line
from services import catalog
from services.models import MaterialSource, Outcome, join_names
from services.schema import SchemaForm, answers, label_of, ordered_properties, row_field_name

from . import decisions, documents, list_rows, next_steps, receipts, selectors, uploads, workflow
from .automation import services as automation
from .models import CLOSED_STATES, Attachment, Case, Channel, SupplementRequest
from .sharing import services as sharing

STEPS = ["form", "materials", "review"]
BUNDLES_LISTED = 20  # the newest bundle applications "My applications" shows


def _case(request: HttpRequest, number: str) -> Case:
    case = selectors.application_for_applicant(request.user, number)
    if case is None:
        raise Http404
    return case


def _draft_or_detail(request: HttpRequest, number: str) -> Case | HttpResponse:
    case = _case(request, number)
    if not case.is_draft:
        return redirect("cases:detail", number=case.number)
    return case


def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def start(request: HttpRequest, code: str) -> HttpResponse:
    """Apply online: explain what is needed, then create the draft (or resume an existing one)."""
    item = catalog.service_for_guide(code)
    if item is None:
        raise Http404
    existing = selectors.my_applications(request.user).filter(service=item, state="draft").first()
    profile = getattr(request.user, "citizen_profile", None)
    agencies = list(organisations.current_agencies(request.user))  # not the ended ones
    held = list(proxies.held_by(request.user)) if profile is not None else []
    if request.method == "POST":
        if existing is not None and "new" not in request.POST:
            return redirect("cases:form", number=existing.number)
        organisation = request.POST.get("organisation") or None
        on_behalf_of = request.POST.get("on_behalf_of") or None
        token = request.POST.get("token")
        try:
            case, _created = workflow.create_draft(
                service=item,
                user=request.user,
                channel=Channel.ONLINE,
                # A repeat of the same click returns the same draft; another choice is another one.
                idempotency_key=f"{token}-{organisation}-{on_behalf_of}" if token else None,
                organisation_id=int(organisation)
                if organisation and organisation.isdigit()
                else None,
                authorisation=proxies.authorisation_for(request.user, on_behalf_of)
                if on_behalf_of
                else None,
            )
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            return redirect("cases:form", number=case.number)
    return render(
        request,
        "cases/start.html",
        {
            "item": item,
            "version": item.current_version,
            "existing": existing,
            "profile": profile,
            "agencies": agencies,
            "held": held,
            "materials": item.current_version.materials.all(),
        },
    )


def _schema_form(case: Case, data=None, rows=None) -> SchemaForm:
    """The application form; identity fields filled from the verified profile are shown (masked
    where personal), never asked for again."""
    fixed = {}
    for name, source in workflow.prefilled_fields(case.service_version.form_schema).items():
        value = case.data.get(name)
        if value:
            fixed[name] = mask_id_number(value) if source == "id_number" else value
    return SchemaForm(
        case.service_version.form_schema, data, rows=rows, initial_json=case.data, fixed=fixed
    )


@login_required
def form_step(request: HttpRequest, number: str) -> HttpResponse:
    """Step 1: the schema's form; prefilled identity fields are shown but not editable."""
    case = _draft_or_detail(request, number)
    if isinstance(case, HttpResponse):
        return case
    if request.method != "POST":
        return render(
            request, "cases/form.html", _step_context(case, "form", form=_schema_form(case))
        )
    rows = {
        key.removeprefix("_rows_"): int(value)
        for key, value in request.POST.items()
        if key.startswith("_rows_") and value.isdigit()
    }
    form = _schema_form(case, request.POST, rows=rows)
    valid = form.is_valid()
    if "_autosave" in request.POST:
        with contextlib.suppress(ValidationError):
            workflow.update_draft(
                case=case, user=request.user, data=form.partial_json(previous=case.data)
            )
        return HttpResponse(status=204)
    if "_add_row" in request.POST or ("save" in request.POST and not valid):
        # Keep everything typed so far, then show the form again (with one more entry if asked).
        with contextlib.suppress(ValidationError):
            case = workflow.update_draft(
                case=case, user=request.user, data=form.partial_json(previous=case.data)
            )
        if "_add_row" not in request.POST:
            messages.info(
                request, _("What is complete is saved; correct the marked fields to continue.")
            )
        else:
            rows = form.add_row_to(request.POST["_add_row"])
            context = _step_context(case, "form", form=_schema_form(case, rows=rows))
            return render(request, "cases/form.html", context)
    if valid:
        try:
            workflow.update_draft(case=case, user=request.user, data=form.cleaned_json())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if "save" in request.POST:
                messages.success(
                    request, _("Saved. You can continue from “My applications” at any time.")
                )
                return redirect("cases:list")
            return redirect("cases:materials", number=case.number)
    return render(request, "cases/form.html", _step_context(case, "form", form=form), status=400)


def _step_context(case: Case, step: str, **extra) -> dict:
    return {
        "case": case,
        "version": case.service_version,
        "step": step,
        "step_number": STEPS.index(step) + 1,
        "steps": [
            ("form", _("Fill in the form")),
            ("materials", _("Materials")),
            ("review", _("Check and submit")),
        ],
        **extra,
    }


def _materials_context(case: Case) -> dict:
    attached: dict[int, list[Attachment]] = {}
    for attachment in case.attachments.all():
        attached.setdefault(attachment.material_id, []).append(attachment)
    licences = workflow.held_licences(case)
    version = case.service_version
    signed = case.commitment_signed_at is not None
    rows = []
    for material in version.materials.all():
        licence = (
            licences.get(material.licence_type_id)
            if material.source == MaterialSource.LICENCE
            else None
        )
        covered = signed and material.covered_by_commitment
        rows.append(
            {
                "material": material,
                "attachments": attached.get(material.pk, []),
                "licence": licence,
                "licence_shown": workflow.licence_shown(licence) if licence else "",
                "generated": material.source == MaterialSource.FORM,
                "covered": covered,
                "may_follow": version.allows_tolerance and material.tolerable,
                "needs_upload": not covered
                and (
                    material.source == MaterialSource.UPLOAD
                    or (material.source == MaterialSource.LICENCE and licence is None)
                ),
            }
        )
    return {
        "rows": rows,
        "commitment": version.commitment_text if version.allows_commitment else "",
        "commitment_en": version.commitment_text_en if version.allows_commitment else "",
        "covered_names": [m.label for m in version.materials.all() if m.covered_by_commitment],
        "owed": workflow.owed_materials(case),
        # Who fills it in: the proxy when one applies (帮办代办), else the applicant.
        "on_file": workflow.documents_on_file(
            case.applicant, besides=case, user=case.agent.user if case.agent_id else None
        ),
        "max_mb": uploads.settings.UPLOAD_MAX_BYTES // (1024 * 1024),
    }


def _document_problems(request: HttpRequest, exc: ValidationError, *, materials, prefix: str):
    """A refused upload, told beside its file input (`{prefix}{material pk}`) and in the error
    summary, naming the material and the fix; the context to render the page with."""
    by_pk = {str(m.pk): m for m in materials}
    material = by_pk.get(str(request.POST.get("material", "")))
    field_errors: dict[int, list[str]] = {}
    items = []
    messages_ = exc.messages
    if material is not None and not (hasattr(exc, "error_dict") and "material" in exc.error_dict):
        field_errors[material.pk] = messages_
        for message in messages_:
            items.append(
                {
                    "href": f"#{prefix}{material.pk}",
                    "text": error_line(material.label, message),
                }
            )
    else:
        items = [{"href": "", "text": message} for message in messages_]
    return {"upload_errors": field_errors, "error_items": items}


def _no_file_chosen(request: HttpRequest, materials) -> ValidationError:
    material = next((m for m in materials if str(m.pk) == request.POST.get("material")), None)
    mb = uploads.settings.UPLOAD_MAX_BYTES // (1024 * 1024)
    if material is None:
        return ValidationError({"file": [_("Choose a file to upload.")]})
    return ValidationError(
        {
            "file": [
                _("Choose the file of “%(material)s” to upload: PDF, JPEG or PNG, up to %(mb)d MB.")
                % {"material": material.label, "mb": mb}
            ]
        }
    )


def _add_document(request: HttpRequest, case: Case) -> bool:
    """An uploaded file or a document on file for one material, if the form sent one."""
    if request.FILES.get("file"):
        workflow.add_attachment(
            case=case,
            material_id=request.POST.get("material"),
            upload=request.FILES["file"],
            user=request.user,
        )
        return True
    if request.POST.get("document"):
        workflow.reuse_document(
            case=case,
            material_id=request.POST.get("material"),
            attachment_id=request.POST["document"],
            user=request.user,
        )
        return True
    return False


@login_required
def materials_step(request: HttpRequest, number: str) -> HttpResponse:
    case = _draft_or_detail(request, number)
    if isinstance(case, HttpResponse):
        return case
    status = 200
    problems: dict = {}
    if request.method == "POST":
        materials = case.service_version.materials.all()
        try:
            if request.POST.get("remove"):
                workflow.remove_attachment(
                    case=case, attachment_id=request.POST["remove"], user=request.user
                )
            elif request.POST.get("commitment") in ("sign", "withdraw"):
                if request.POST["commitment"] == "sign" and not request.POST.get("agree"):
                    raise ValidationError(
                        {"agree": [_("Tick the box to confirm that you have read the commitment.")]}
                    )
                workflow.sign_commitment(
                    case=case, user=request.user, signed=request.POST["commitment"] == "sign"
                )
            elif _add_document(request, case):
                pass
            elif "continue" in request.POST:
                return redirect("cases:review", number=case.number)
            else:
                raise _no_file_chosen(request, materials)
        except ValidationError as exc:
            # Beside the file input it concerns, and in the summary: not a flash at the top.
            problems = _document_problems(request, exc, materials=materials, prefix="file-")
            status = 400
        except workflow.CaseConflict as exc:
            messages.error(request, exc.message)
            status = 409
        else:
            return redirect("cases:materials", number=case.number)
        case = _case(request, number)
    context = _step_context(case, "materials", **_materials_context(case), **problems)
    for row in context["rows"]:
        row["errors"] = problems.get("upload_errors", {}).get(row["material"].pk, [])
    return render(request, "cases/materials.html", context, status=status)


@login_required
def review_step(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    error_items: list[dict] = []
    if request.method == "POST":
        if not case.is_draft:
            # A double click, or the back button: the first submission stands.
            return redirect("cases:submitted", number=case.number)
        try:
            workflow.submit_application(case=case, user=request.user, channel=Channel.ONLINE)
        except ValidationError as exc:
            error_items = _submission_problems(case, exc)
        except workflow.CaseConflict as exc:
            if exc.code != "changed":
                return redirect("cases:submitted", number=case.number)
            # Changed meanwhile (another tab saved it): shown as it is now, to submit again.
            messages.error(request, exc.message)
            case = _case(request, number)
        else:
            return redirect("cases:submitted", number=case.number)
    elif not case.is_draft:
        return redirect("cases:detail", number=case.number)
    context = _step_context(
        case,
        "review",
        answers=answers(case.service_version.form_schema, workflow.display_data(case)),
        missing=workflow.missing_materials(case),
        owed_days=workflow.drafts.OWED_WORKING_DAYS,
        error_items=error_items,
        **_materials_context(case),
    )
    return render(
        request, "cases/review.html", context, status=400 if request.method == "POST" else 200
    )


def _submission_problems(case: Case, exc: ValidationError) -> list[dict]:
    """Why the application cannot be handed in yet, each linked to where it is put right: a form
    field on the form step, a material on the materials step."""
    schema = case.service_version.form_schema
    form_url = reverse("cases:form", args=[case.number])
    materials_url = reverse("cases:materials", args=[case.number])
    items = []
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    order = {name: index for index, (name, _prop) in enumerate(ordered_properties(schema))}

    def position(key: str) -> tuple:
        # In the order the form asks: fields first (as on the form step), then the materials.
        if key.startswith("data."):
            name = re.split(r"[\[.]", key.removeprefix("data."))[0]
            return (0, order.get(name, len(order)), key)
        return (1, 0, key)

    for key in sorted(errors, key=position):
        messages_ = errors[key]
        href, label = "", ""
        if key.startswith("data."):
            path = key.removeprefix("data.")
            match = re.match(r"^(\w+)\[(\d+)\]\.(\w+)$", path)
            name = match.group(1) if match else path
            prop = schema.get("properties", {}).get(name)
            if prop is not None:
                label = label_of(prop, name)
                if match:
                    sub = prop.get("items", {}).get("properties", {}).get(match.group(3), {})
                    label = label_of(sub, match.group(3)) if sub else label
                    anchor = row_field_name(name, int(match.group(2)), match.group(3))
                else:
                    anchor = name
                href = f"{form_url}#id_{anchor}"
        elif key == "materials":
            href = materials_url
        for message in messages_:
            items.append({"href": href, "text": error_line(label, message)})
    return items


@login_required
def submitted(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    if case.is_draft:
        return redirect("cases:review", number=case.number)
    return render(
        request,
        "cases/submitted.html",
        {
            "case": case,
            "version": case.service_version,
            "next_steps": next_steps.after_submission(case),
            "owed": workflow.owed_materials(case),
            "unverified": [s for s in sharing.shared_materials(case) if s.may_upload],
        },
    )


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    from .bundles import services as bundles

    page = Paginator(selectors.my_applications(request.user), 20).get_page(request.GET.get("page"))
    # 一件事: each bundle once, above its member cases (which name it in their rows).
    bundle_applications = list(
        bundles.bundle_applications_of(request.user).select_related("bundle")[:BUNDLES_LISTED]
    )
    return render(
        request,
        "cases/list.html",
        {
            "page": page,
            "rows": list_rows.application_rows(page.object_list),
            "bundle_applications": bundle_applications,
        },
    )


@login_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    return render(request, "cases/detail.html", _detail_context(request, case))


def _detail_context(request: HttpRequest, case: Case, **extra) -> dict:
    open_request = next(
        (r for r in case.supplement_requests.all() if r.state == SupplementRequest.State.OPEN), None
    )
    outcomes = {t.outcome for t in workflow.transitions_for(case, request.user)}
    supplement = next_steps.supplement_status(case, open_request) if open_request else None
    upload_errors = extra.pop("upload_errors", {})
    owed_errors = extra.pop("owed_errors", {})
    if supplement is not None:
        for row in supplement.rows:
            row["errors"] = upload_errors.get(row["material"].pk, [])
    return {
        "case": case,
        "version": case.service_version,
        "timeline": selectors.timeline(case),
        "open_request": open_request,
        "supplement": supplement,
        "can_withdraw": Outcome.WITHDRAWN in outcomes,
        "can_supplement": Outcome.SUPPLEMENT_ANSWERED in outcomes and open_request is not None,
        "on_file": workflow.documents_on_file(case.applicant, besides=case, user=request.user)
        if open_request
        else [],
        "official_documents": documents.listing(case, request, api=False),
        "decision": decisions.as_data(decisions.decision_of(case)),
        "automatic_approval": automation.check_as_data(case),
        "human_review": automation.review_state(case),
        "owed": [
            {"material": m, "errors": owed_errors.get(m.pk, [])}
            for m in (
                workflow.owed_materials(case)
                if not case.is_draft and case.state not in CLOSED_STATES
                else []
            )
        ],
        **_rating_context(case, request.user),
        "shared": [] if case.is_draft else sharing.shared_materials(case),
        "licences": _licences_given(case, request.user),
        **_fee_context(case),
        **extra,
    }


def _fee_context(case: Case) -> dict:
    from .payments import services as payments
    from .payments.models import Payment

    fee = None if case.is_draft else payments.fee_of(case)
    if fee is None:
        return {}
    refunds = [
        p
        for p in case.payments.all()
        if p.state in (Payment.State.REFUND_PENDING, Payment.State.REFUNDED)
    ]
    from .payments.providers import get_provider

    return {"fee": fee, "refunds": refunds, "online_payment": get_provider() is not None}


def _licences_given(case: Case, user) -> list:
    """The e-licences the case gave; `in_wallet`: the user may download the certificate."""
    from .licences import services as licences

    rows = [] if case.is_draft else licences.licences_of_case(case)
    if not rows:
        return []
    mine = set(licences.licences_of(user).filter(case=case).values_list("pk", flat=True))
    for licence in rows:
        licence.in_wallet = licence.pk in mine
    return rows


def _rating_context(case: Case, user) -> dict:
    from .models import Rating, RatingTag
    from .ratings import services as ratings
    from .ratings import views as rating_views

    if case.state not in ratings.RATEABLE_STATES:
        return {}
    rating = Rating.objects.filter(case=case).select_related("rectification").first()
    rectification = getattr(rating, "rectification", None) if rating else None
    return {
        "rating": rating,
        "rectification": rectification,
        "can_rate": rating is None and workflow.is_applicant_side(case, user),
        "scores": rating_views.score_choices(),
        "rating_tags": RatingTag.choices,
        "dimensions": rating_views.dimension_choices(rating_views.ONLINE_DIMENSIONS),
    }


@login_required
@require_POST
def withdraw(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    try:
        workflow.withdraw_case(case=case, user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your application is withdrawn."))
    return redirect("cases:detail", number=case.number)


@login_required
@require_POST
def human_review(request: HttpRequest, number: str) -> HttpResponse:
    """Ask for a person to review the automated decision (秒批, PIPL art. 24)."""
    case = _case(request, number)
    try:
        automation.request_human_review(
            case=case, user=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("A caseworker of the department will review the decision; you will be told.")
        )
    return redirect("cases:detail", number=case.number)


@login_required
@require_POST
def supplement(request: HttpRequest, number: str) -> HttpResponse:
    """Answer a request for documents in one clear step: upload each document (it waits, listed as
    not yet sent), then hand them all in with "提交补正材料". A refused upload or a missing document
    is told beside its file input, with the deadline still in view; the note typed is kept."""
    case = _case(request, number)
    materials = next(
        (
            list(r.materials.all())
            for r in case.supplement_requests.all()
            if r.state == SupplementRequest.State.OPEN
        ),
        [],
    )
    try:
        if _add_document(request, case):
            name = next(
                (m.label for m in materials if str(m.pk) == request.POST.get("material")), ""
            )
            messages.success(
                request,
                _(
                    "“%(material)s” is uploaded but not yet sent: when everything asked for is "
                    "there, press “Send the requested documents”."
                )
                % {"material": name},
            )
        elif "answer" not in request.POST and request.POST.get("material"):
            raise _no_file_chosen(request, materials)
        else:
            workflow.answer_supplement(
                case=case, user=request.user, note=request.POST.get("note", "")
            )
            messages.success(
                request, _("Thank you: the department has your documents and continues.")
            )
    except ValidationError as exc:
        case = _case(request, number)
        if hasattr(exc, "error_dict") and "materials" in exc.error_dict:
            problems = _missing_documents(case, materials)
        else:
            problems = _document_problems(request, exc, materials=materials, prefix="sfile-")
        context = _detail_context(request, case, note=request.POST.get("note", ""), **problems)
        return render(request, "cases/detail.html", context, status=400)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    return redirect(reverse("cases:detail", args=[case.number]) + "#supplement")


def _missing_documents(case: Case, materials) -> dict:
    """The answer sent ("提交补正材料") while something asked for has no upload: each missing
    document is told beside its file input."""
    status = next_steps.supplement_status(
        case,
        next(r for r in case.supplement_requests.all() if r.state == SupplementRequest.State.OPEN),
    )
    field_errors, items = {}, []
    for material in status.missing:
        message = _(
            "Upload “%(material)s” first, then press “Send the requested documents” again."
        ) % {"material": material.label}
        field_errors[material.pk] = [message]
        items.append({"href": f"#sfile-{material.pk}", "text": message})
    return {"upload_errors": field_errors, "error_items": items}


@login_required
@require_POST
def owed(request: HttpRequest, number: str) -> HttpResponse:
    """Hand in a material accepted to follow (容缺) from the case page."""
    case = _case(request, number)
    owed_now = workflow.owed_materials(case)
    try:
        if not _add_document(request, case):
            raise _no_file_chosen(request, owed_now)
    except ValidationError as exc:
        problems = _document_problems(request, exc, materials=owed_now, prefix="ofile-")
        context = _detail_context(
            request, case, owed_errors=problems["upload_errors"],
            error_items=problems["error_items"],
        )  # fmt: skip
        return render(request, "cases/detail.html", context, status=400)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    else:
        left = workflow.owed_materials(case)
        messages.success(
            request,
            _("Received. Still to upload: %(materials)s.")
            % {"materials": join_names(m.label for m in left)}
            if left
            else _("Received: nothing is owed any more; the department can decide."),
        )
    return redirect(reverse("cases:detail", args=[case.number]) + "#owed")


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    case = _case(request, number)
    if case.is_draft:
        raise Http404
    response = HttpResponse(receipts.receipt_pdf(case=case), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{case.number}.pdf"'
    return response


@login_required
def official_document(request: HttpRequest, number: str, document_id: int) -> HttpResponse:
    """An official document of one of the user's cases (受理通知书 ...), as a PDF download."""
    case = _case(request, number)
    document = documents.documents_of(case).filter(pk=document_id).first()
    if document is None:
        raise Http404
    return documents.pdf_response(document=document, request=request)


@login_required
def application_form(request: HttpRequest, number: str) -> HttpResponse:
    """The application form (申请表) made from the answers: what the applicant would have uploaded."""
    case = _case(request, number)
    return documents.application_form_response(case=case, request=request)


@login_required
def document(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    """A document of one of the user's cases, as a download, never rendered by the browser."""
    case = _case(request, number)
    attachment = next((a for a in case.attachments.all() if a.pk == attachment_id), None)
    if attachment is None:
        raise Http404
    return uploads.download_response(attachment)
