"""The citizen's pages of a bundle (一件事一次办): the guide, one form, each material uploaded once,
one submission, one status listing every member case, one receipt. Another person's bundle
application answers 404, as in the API."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from services import bundles as definitions
from services.models import MaterialSource

from .. import workflow
from ..models import BundleApplication
from . import services
from .forms import bundle_form, flat_error_name, unflatten


@login_required
@require_POST
def start(request: HttpRequest, code: str) -> HttpResponse:
    bundle = definitions.published_bundles().filter(code=code).first()
    if bundle is None:
        raise Http404
    existing = services.bundle_applications_of(request.user).filter(
        bundle=bundle, state=BundleApplication.State.DRAFT
    )
    if (draft := existing.first()) is not None:
        return redirect("cases:bundles:form", number=draft.number)
    try:
        application = services.create_bundle_application(bundle=bundle, user=request.user, data={})
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("services:bundle", code=code)
    return redirect("cases:bundles:form", number=application.number)


def _application(request: HttpRequest, number: str) -> BundleApplication:
    application = services.bundle_application_for(request.user, number)
    if application is None:
        raise Http404
    return application


def _draft(request: HttpRequest, number: str) -> BundleApplication | HttpResponse:
    application = _application(request, number)
    if application.state != BundleApplication.State.DRAFT:
        return redirect("cases:bundles:status", number=number)
    return application


def _steps(application: BundleApplication, step: str) -> dict:
    return {
        "application": application,
        "bundle": application.bundle,
        "step": step,
        "steps": [("form", _("Form")), ("materials", _("Materials and submission"))],
    }


@login_required
def form(request: HttpRequest, number: str) -> HttpResponse:
    """One form for every member: shared fields once, each service's own under its name."""
    application = _draft(request, number)
    if isinstance(application, HttpResponse):
        return application
    schema = definitions.combined_schema(application.bundle)
    if request.method != "POST":
        page_form, _where = bundle_form(schema, initial=application.data)
        return render(
            request, "bundles/form.html", {**_steps(application, "form"), "form": page_form}
        )
    page_form, where = bundle_form(schema, request.POST, initial=application.data)
    if page_form.is_valid():
        try:
            services.update_bundle_application(
                application=application, user=request.user,
                data=unflatten(page_form.cleaned_json(), where),
            )  # fmt: skip
        except ValidationError as exc:
            for path, problems in exc.message_dict.items():
                page_form.add_error(flat_error_name(path, where), problems)
        except workflow.CaseConflict:
            return redirect("cases:bundles:status", number=number)
        else:
            return redirect("cases:bundles:materials", number=number)
    context = {**_steps(application, "form"), "form": page_form}
    return render(request, "bundles/form.html", context, status=400)


def _material_rows(application: BundleApplication, problems: dict) -> list[dict]:
    uploaded: dict[str, list] = {}
    for attachment in application.attachments.all():
        uploaded.setdefault(" ".join(attachment.material_name.split()), []).append(attachment)
    names = {
        m.service.code: m.service.current_version.label
        for m in definitions.members_of(application.bundle)
    }
    return [
        {
            "material": material,
            "serves": [names[code] for code in material["members"]],
            "attachments": uploaded.get(material["name"], []),
            "errors": problems.get(material["id"], []),
        }
        for material in definitions.combined_materials(application.bundle)
        if material["source"] != MaterialSource.FORM
    ]


@login_required
def materials(request: HttpRequest, number: str) -> HttpResponse:
    """Each material once (one upload serves every member that asks for it), then one submission."""
    application = _draft(request, number)
    if isinstance(application, HttpResponse):
        return application
    problems: dict = {}
    submit_errors: list[str] = []
    status = 200
    if request.method == "POST" and "material" in request.POST:
        material = request.POST.get("material")
        upload = request.FILES.get("file")
        try:
            material_id = int(material)
        except (TypeError, ValueError):
            material_id = None
        if upload is None:
            problems[material_id] = [_("Choose a file to upload.")]
        else:
            try:
                services.add_bundle_attachment(
                    application=application, material_id=material_id, upload=upload,
                    user=request.user,
                )  # fmt: skip
            except ValidationError as exc:
                problems[material_id] = exc.messages
            except workflow.CaseConflict:
                return redirect("cases:bundles:status", number=number)
            else:
                messages.success(request, _("Uploaded: it serves every service that asks for it."))
                return redirect("cases:bundles:materials", number=number)
        status = 400
    elif request.method == "POST" and "submit" in request.POST:
        try:
            services.submit_bundle_application(application=application, user=request.user)
        except ValidationError as exc:
            submit_errors = exc.messages
            status = 400
        except workflow.CaseConflict as exc:
            if exc.code != "changed":
                return redirect("cases:bundles:status", number=number)
            # Changed meanwhile (another tab saved it): shown as it is now, to submit again.
            submit_errors, status = [exc.message], 400
            application = _application(request, number)
        else:
            messages.success(
                request,
                _("Submitted once: every department has your application. Keep this receipt."),
            )
            return redirect("cases:bundles:receipt", number=number)
    application = _application(request, number)
    context = {
        **_steps(application, "materials"),
        "rows": _material_rows(application, problems),
        "missing": services.missing_materials(application),
        "submit_errors": submit_errors,
        "max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "bundles/materials.html", context, status=status)


def _status_context(application: BundleApplication, **extra) -> dict:
    from ..models import RatingTag
    from ..ratings import views as rating_views

    rows = services.member_rows(application)
    requests = services.supplement_requests(application)
    upload_errors = extra.pop("upload_errors", {})
    answer_errors = extra.pop("answer_errors", {})
    supplement_materials = services.supplement_materials(requests)
    for material in supplement_materials:
        material["errors"] = upload_errors.get(material["id"], [])
    for row in requests:
        row["errors"] = answer_errors.get(row["case"].number, [])
    return {
        "application": application,
        "bundle": application.bundle,
        "rows": rows,
        "open_requests": [r for r in requests if r["open"]],
        "closed_requests": [r for r in requests if not r["open"]],
        "supplement_materials": supplement_materials,
        "max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024),
        "rating": services.rating_state(application),
        "scores": rating_views.score_choices(),
        "rating_tags": RatingTag.choices,
        **extra,
    }


@login_required
def status(request: HttpRequest, number: str) -> HttpResponse:
    """One status: every member case with its state and a link."""
    application = _application(request, number)
    if application.state == BundleApplication.State.DRAFT:
        return redirect("cases:bundles:form", number=number)
    return render(request, "bundles/status.html", _status_context(application))


@login_required
@require_POST
def supplements(request: HttpRequest, number: str) -> HttpResponse:
    """Answer the requests for documents (补正) of any member here: upload a document once (it
    goes to every member that asks for it, not yet sent), then send each request's answer. A
    refused upload or a request with something missing is told beside its field, in the page."""
    application = _application(request, number)
    post = request.POST
    problems: dict = {}
    try:
        if "answer" in post:
            answered = services.answer_supplements(
                application=application, user=request.user,
                numbers=post.getlist("case"), note=post.get("note", ""),
            )  # fmt: skip
            messages.success(
                request,
                _("Sent: %(services)s continues.") % {
                    "services": "、".join(c.service_version.name for c in answered)
                },
            )  # fmt: skip
        else:
            attachments = services.upload_for_supplements(
                application=application, material_id=post.get("material"),
                upload=request.FILES.get("file"), user=request.user,
            )  # fmt: skip
            messages.success(
                request,
                ngettext(
                    "Uploaded, not yet sent: press “Send” below for the request.",
                    "Uploaded once for %(count)d requests, not yet sent: press “Send” below "
                    "for each of them.",
                    len(attachments),
                )
                % {"count": len(attachments)},
            )
    except ValidationError as exc:
        problems = _supplement_problems(post, exc)
    except (workflow.CaseConflict, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
    if problems:
        application = _application(request, number)
        context = _status_context(application, note=post.get("note", ""), **problems)
        return render(request, "bundles/status.html", context, status=400)
    return redirect(reverse("cases:bundles:status", args=[number]) + "#supplements")


def _supplement_problems(post, exc: ValidationError) -> dict:
    """A refused upload beside its file input, a refused answer beside its button, and both in
    the error summary."""
    messages_ = exc.messages
    if "answer" in post:
        number = (post.getlist("case") or [""])[0]
        items = [{"href": f"#bsend-{number}", "text": m} for m in messages_]
        return {"answer_errors": {number: messages_}, "error_items": items}
    try:
        material_id = int(post.get("material", ""))
    except ValueError:
        material_id = None
    items = [{"href": f"#bfile-{material_id}", "text": m} for m in messages_]
    return {"upload_errors": {material_id: messages_}, "error_items": items}


@login_required
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    """One receipt (收件凭证) listing every member case number; printable, and as a PDF."""
    application = _application(request, number)
    if application.state == BundleApplication.State.DRAFT:
        raise Http404
    return render(request, "bundles/receipt.html", _status_context(application))


@login_required
def receipt_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """The bundle's receipt (一件事受理回执) as a PDF: every member case, one sheet."""
    from ..documents import _pdf_response
    from . import receipts

    application = _application(request, number)
    if application.state == BundleApplication.State.DRAFT:
        raise Http404
    return _pdf_response(receipts.receipt_pdf(application), f"receipt-{application.number}.pdf")


@login_required
@require_POST
def rate(request: HttpRequest, number: str) -> HttpResponse:
    """One rating for the whole bundle."""
    application = _application(request, number)
    post = request.POST
    score = post.get("score", "")
    try:
        services.rate_bundle(
            application=application, user=request.user,
            score=int(score) if score.isdigit() else None,
            tags=post.getlist("tags"), comment=post.get("comment", ""),
        )  # fmt: skip
    except (ValidationError, workflow.CaseConflict) as exc:
        for message in getattr(exc, "messages", [str(exc)]):
            messages.error(request, message)
    else:
        messages.success(request, _("Thank you: your rating reaches every department."))
    return redirect("cases:bundles:status", number=number)
