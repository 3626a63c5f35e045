"""The caseworker's workbench (pages): the department queue, and a case with the actions this user
may take now. Everything goes through the same engine and selectors as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import departments_with_role
from services.models import MaterialSource

from . import (
    access,
    access_log,
    documents,
    keyset,
    list_rows,
    previews,
    selectors,
    uploads,
    workflow,
)
from .automation import services as automation
from .models import Channel, Licence, OpinionPhrase
from .ratings import services as ratings
from .work_api import take_action, work_case_data

PAGE_SIZE = 50


def _staff_only(request: HttpRequest) -> None:
    if not departments_with_role(request.user).exists():
        raise Http404


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    filters = {key: request.GET.get(key, "")[:64] for key in ("stage", "service", "channel", "due")}
    mine = request.GET.get("mine") == "1"
    cases = selectors.work_queue(request.user, mine=mine, **filters)
    rows, following = keyset.page_after(cases, request.GET.get("after"), PAGE_SIZE)
    query = request.GET.copy()
    if following:
        query["after"] = following
    return render(
        request,
        "work/queue.html",
        {
            "rows": list_rows.queue_rows(rows, timezone.localdate()),
            "filters": filters,
            "mine": mine,
            "next_query": query.urlencode() if following else "",
            "departments": departments_with_role(request.user),
            "rectifications": ratings.open_counts(request.user),
            "verifications_open": workflow.commitments.verifications_for(request.user)
            .filter(state="open")
            .count(),
            "human_reviews_open": automation.human_reviews_for(request.user)
            .filter(state="open")
            .count(),
        },
    )


@login_required
def verifications(request: HttpRequest) -> HttpResponse:
    """核查: the commitments (告知承诺) the user's departments check after deciding on them."""
    from .models import Verification
    from .workflow import commitments

    _staff_only(request)
    status = 200
    if request.method == "POST":
        verification = (
            commitments.verifications_for(request.user)
            .filter(pk=request.POST.get("verification") or None)
            .first()
        )
        if verification is None:
            raise Http404
        try:
            if request.POST.get("do") == "revoke":
                commitments.revoke_after_false_commitment(
                    verification=verification,
                    user=request.user,
                    reason=request.POST.get("reason", ""),
                )
                done = _("The licence is revoked; the applicant is told why.")
            else:
                commitments.record_finding(
                    verification=verification,
                    user=request.user,
                    commitment_true=request.POST.get("do") == "true",
                    finding=request.POST.get("finding", ""),
                )
                done = _("The finding is recorded.")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            status = 400
        except (workflow.CaseConflict, PermissionDenied) as exc:
            messages.error(request, getattr(exc, "message", None) or str(exc))
            status = 409
        else:
            messages.success(request, done)
            return redirect("work:verifications")
    rows = list(commitments.verifications_for(request.user)[:200])
    heads = set(
        departments_with_role(request.user, Role.DEPARTMENT_HEAD).values_list("pk", flat=True)
    )
    return render(
        request,
        "work/verifications.html",
        {
            "rows": rows,
            "heads": heads,
            "today": timezone.localdate(),
            "State": Verification.State,
            "Kind": Verification.Kind,
        },
        status=status,
    )


@login_required
def human_reviews(request: HttpRequest) -> HttpResponse:
    """The automated decisions (秒批) applicants asked a person of the department to review."""
    from .automation import services as automation

    _staff_only(request)
    return render(
        request,
        "work/human_reviews.html",
        {"rows": list(automation.human_reviews_for(request.user)[:200])},
    )


@login_required
@require_POST
def human_review(request: HttpRequest, review_id: int) -> HttpResponse:
    """Decide a human review: the decision replaces the automated one."""
    from .automation import services as automation

    review = automation.human_reviews_for(request.user).filter(pk=review_id).first()
    if review is None:
        raise Http404
    try:
        automation.decide_human_review(
            review=review,
            user=request.user,
            approve=request.POST.get("do") == "approve",
            reason=request.POST.get("reason", ""),
            legal_basis=request.POST.get("legal_basis") or None,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except (workflow.CaseConflict, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
    else:
        messages.success(request, _("Decided: the applicant is told, with the new decision."))
    return redirect("work:case", number=review.case.number)


def _phrases(case, transition_names):
    return (
        OpinionPhrase.objects.filter(department_id=case.department_id)
        .filter(Q(service_id=case.service_id) | Q(service__isnull=True))
        .filter(Q(transition="") | Q(transition__in=transition_names))
    )


@login_required
def case_page(request: HttpRequest, number: str, revealed: dict | None = None) -> HttpResponse:
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        raise Http404
    roles = workflow.roles_for(case, request.user)
    if revealed is None:  # a reveal has written its own record
        access_log.staff_saw(
            request.user, case, action=access_log.Action.VIEWED, roles=roles - {"applicant"}
        )
    data = work_case_data(case, request.user, roles=roles)
    licences = _case_licences(case, request.user)
    data["documents"] = documents.listing(case, request, api=False, staff=True, licences=licences)
    names = [a["name"] for a in data["actions"]]
    return render(
        request,
        "work/case.html",
        {
            "case": case,
            "data": data,
            "phrases": _phrases(case, names),
            # What a request for documents may name: not the form made from the answers.
            "materials": [
                m for m in case.service_version.materials.all() if m.source != MaterialSource.FORM
            ],
            "owed": workflow.owed_materials(case),
            "previews": [a for a in case.attachments.all() if previews.previewable(a)],
            "stages": case.stage.definition.stages.all() if data["may_repair"] else [],
            "licences": licences,
            "fee": _fee(case),
            "Ending": Licence.Ending,
            "revealed": revealed,
        },
    )


def _case_licences(case, user) -> list:
    """The licences the case gave; `may_end`: this user (the issuing department's head) may
    revoke or annul it now."""
    from .licences import services as licences

    rows = licences.licences_of_case(case)
    heads = {}
    for licence in rows:
        issuer = licence.licence_type.issuer_id
        if issuer not in heads:
            heads[issuer] = licences.may_end(user, licence)
        licence.may_end = heads[issuer] and licence.status not in licences.ENDED
    return rows


def _fee(case):
    from .payments import services as payments

    return payments.fee_of(case)


def _do(request: HttpRequest, number: str, action, *, done: str = "") -> HttpResponse:
    """Run one engine call for the case page; refusals become messages on the page."""
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        raise Http404
    try:
        action(case)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except workflow.CaseConflict as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this for this application."))
    else:
        messages.success(request, done or _("Done."))
        if not access.cases_visible_to_staff(request.user).filter(pk=case.pk).exists():
            return redirect("work:queue")  # e.g. a consulted expert who answered
    return redirect("work:case", number=number)


@login_required
@require_POST
def claim(request: HttpRequest, number: str) -> HttpResponse:
    release = request.POST.get("release") == "1"
    return _do(
        request,
        number,
        lambda case: workflow.claim_case(case=case, user=request.user, release=release),
    )


@login_required
@require_POST
def take_over(request: HttpRequest, number: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _do(
        request,
        number,
        lambda case: workflow.take_over_case(case=case, user=request.user, reason=reason),
    )


@login_required
@require_POST
def consult(request: HttpRequest, number: str) -> HttpResponse:
    from accounts.models import User

    def ask(case):
        expert = User.objects.filter(username=request.POST.get("expert", "").strip()).first()
        if expert is None:
            raise ValidationError({"expert": [_("No member of staff has this username.")]})
        workflow.consult(
            case=case, actor=request.user, expert=expert, question=request.POST.get("question", "")
        )

    return _do(request, number, ask)


@login_required
@require_POST
def opinion(request: HttpRequest, number: str) -> HttpResponse:
    text = request.POST.get("opinion", "")
    return _do(
        request,
        number,
        lambda case: workflow.give_opinion(case=case, expert=request.user, opinion=text),
        done=_("Thank you: your opinion is in the trail."),
    )


@login_required
@require_POST
def repair(request: HttpRequest, number: str) -> HttpResponse:
    from services.models import WorkflowStage

    def move(case):
        if not workflow.may_repair(request.user, case):
            raise PermissionDenied
        stage = WorkflowStage.objects.filter(
            definition_id=case.stage.definition_id, code=request.POST.get("stage", "")
        ).first()
        if stage is None:
            raise ValidationError({"stage": [_("The case's workflow has no such stage.")]})
        workflow.repair_case(
            case=case, actor=request.user, stage=stage, reason=request.POST.get("reason", "")
        )

    return _do(request, number, move)


@login_required
@require_POST
def act(request: HttpRequest, number: str) -> HttpResponse:
    opinion = request.POST.get("opinion", "").strip() or request.POST.get("phrase", "").strip()
    try:
        version = int(request.POST.get("expected_version", ""))
    except ValueError:
        version = None
    data = {
        "transition": request.POST.get("transition", ""),
        "opinion": opinion,
        "expected_version": version,
        "materials": [int(m) for m in request.POST.getlist("materials") if m.isdigit()],
        "supervisor_reason": request.POST.get("supervisor_reason", ""),
        "legal_basis": request.POST.get("legal_basis") or None,
    }
    if request.POST.get("days", "").isdigit():
        data["days"] = int(request.POST["days"])
    return _do(
        request,
        number,
        lambda case: take_action(case=case, user=request.user, data=data, channel=Channel.ONLINE),
    )


@login_required
def preview(request: HttpRequest, number: str, attachment_id: int) -> HttpResponse:
    """An inline picture of a document: images themselves, PDFs as their first page; 404 for one
    that cannot be shown within limits (see previews.previewable)."""
    case = selectors.case_for_staff(request.user, number)
    attachment = (
        next((a for a in case.attachments.all() if a.pk == attachment_id), None) if case else None
    )
    if attachment is None or not previews.previewable(attachment):
        raise Http404
    access_log.staff_saw(request.user, case, action=access_log.Action.DOCUMENT, field="preview")
    try:
        data = uploads.read_stored(attachment.stored_name)
    except FileNotFoundError:  # purged since the page was shown
        raise Http404 from None
    if attachment.content_type.startswith("image/"):
        body, content_type = data, attachment.content_type
    else:
        body, content_type = previews.pdf_first_page_png(data), "image/png"
        if body is None:
            raise Http404
    response = HttpResponse(body, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def application_form(request: HttpRequest, number: str):
    """The application form (申请表) made from the answers, for staff of the case."""
    from . import documents

    case = selectors.case_for_staff(request.user, number)
    if case is None or case.is_draft:
        raise Http404
    access_log.staff_saw(request.user, case, action=access_log.Action.DOCUMENT, field="form")
    return documents.application_form_response(case=case, request=request)


@login_required
def document(request: HttpRequest, number: str, attachment_id: int):
    """A document of a case in the user's department, as a download."""
    case = selectors.case_for_staff(request.user, number)
    attachment = (
        next((a for a in case.attachments.all() if a.pk == attachment_id), None) if case else None
    )
    if attachment is None:
        raise Http404
    access_log.staff_saw(request.user, case, action=access_log.Action.DOCUMENT, field="upload")
    return uploads.download_response(attachment)


@login_required
def official_document(request: HttpRequest, number: str, document_id: int) -> HttpResponse:
    """An official document of a case this member of staff may see; the counter prints these."""
    case = selectors.case_for_staff(request.user, number)
    document = documents.documents_of(case).filter(pk=document_id).first() if case else None
    if document is None:
        raise Http404
    access_log.staff_saw(request.user, case, action=access_log.Action.DOCUMENT, field=document.kind)
    return documents.pdf_response(document=document)


@login_required
@require_POST
def reveal(request: HttpRequest, number: str) -> HttpResponse:
    """查看完整号码: the applicant's full ID number or phone, with the reason, written down first;
    shown in this one page, never kept in the session or a message."""
    case = selectors.case_for_staff(request.user, number)
    if case is None:
        raise Http404
    try:
        value = access_log.reveal(
            request.user, case, field=request.POST.get("field", ""),
            reason=request.POST.get("reason", ""),
        )  # fmt: skip
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("work:case", number)
    response = case_page(request, number, revealed={"field": request.POST["field"], "value": value})
    response["Cache-Control"] = "no-store"
    return response
