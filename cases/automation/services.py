"""秒批: automatic approval at submission, the applicant's right to a human review, the post-check.

`approve_if_rules_hold` runs in the transaction of `submit_application`, right after the case is
submitted. With the service's policy on, it reads the rules' facts (services.auto_rules) and
records each rule's result on the case (AutoDecisionCheck). When every rule holds, the system
takes the workflow's own transitions with the outcomes accepted, approved and concluded (whatever
the admin named them), as the actor 系统自动审批 (no user; role `auto_approval`): the acceptance
notice, the decision record (automated), the decision document and the e-licence follow as for
any decision. When a rule fails, or the workflow cannot approve (materials still owed, no
approving transition), the case stays in intake for a caseworker, with the failed rules in the
trail and on the staff pages. A share of automated approvals is sampled into the post-check
queue (Verification of kind "automated", the 告知承诺 核查 queue).

`request_human_review` (PIPL art. 24): within AUTO_DECISION_REVIEW_DAYS of an automated decision
the applicant asks, with a reason, for a person; the department's staff find it in their queue.
`decide_human_review`: a caseworker decides again; their decision replaces the automated one
(marked superseded), a new decision document is issued and the applicant is told. A refusal
closes the case as rejected and annuls the e-licence the automated approval gave.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, StaffMembership, User
from services import auto_rules
from services.models import (
    APPLICANT,
    AutoApprovalPolicy,
    Outcome,
    OuterState,
    StageKind,
    WorkflowTransition,
)

from ..models import (
    AutoDecisionCheck,
    Case,
    Channel,
    Decision,
    HumanReview,
    NotificationEvent,
    OfficialDocument,
    Verification,
)
from ..vocabulary import EventAction
from ..workflow import clock, effects, rules, trail
from ..workflow.errors import CaseConflict

logger = logging.getLogger(__name__)

AUTO_APPROVER = "auto_approval"  # the role of the system's automated steps: 系统自动审批
SYSTEM_CHANNEL = "system"
VERIFICATION_WORKING_DAYS = 20
DECIDING_ROLES = {Role.CASEWORKER, Role.REVIEWER, Role.APPROVER, Role.DEPARTMENT_HEAD}


def _official(text_function):
    with translation.override(settings.LANGUAGE_CODE):
        return text_function()


# --- At submission ----------------------------------------------------------------------------------


def policy_for(case: Case) -> AutoApprovalPolicy | None:
    return AutoApprovalPolicy.objects.filter(service_id=case.service_id, enabled=True).first()


def _engine_transition(case: Case, outcome: str) -> WorkflowTransition | None:
    """The workflow's transition with `outcome` the system takes now: one the definition allows
    from the case's stage, else (to decide) the decision stage's, as a 即办件 is decided at
    intake."""
    available = [t for t in rules.available_transitions(case) if t.outcome == outcome]
    if available:
        return available[0]
    if outcome != Outcome.APPROVED:
        return None
    return (
        WorkflowTransition.objects.filter(
            definition_id=case.stage.definition_id,
            outcome=Outcome.APPROVED,
            source__kind=StageKind.DECISION,
        )
        .select_related("source", "target")
        .order_by("order", "pk")
        .first()
    )


def _take(case: Case, transition: WorkflowTransition, *, opinion: str, details: dict) -> None:
    from ..workflow.transitions import take

    step = effects.Step(
        case=case, transition=transition, actor=None, roles={AUTO_APPROVER},
        details=details, day=clock.today(), opinion=opinion, channel=SYSTEM_CHANNEL,
    )  # fmt: skip
    take(step, action=transition.name, actor_role=AUTO_APPROVER)


def _approve(case: Case, policy: AutoApprovalPolicy, held: list[str]) -> None:
    """Accept, approve and conclude through the workflow's transitions (raises CaseConflict when
    it has none to take); the caller holds the case row lock, in a savepoint."""
    from ..workflow import owed_materials

    if owed := owed_materials(case):
        raise CaseConflict(
            _("Materials accepted to follow are still owed: %(m)s.")
            % {"m": ", ".join(m.name for m in owed)}
        )
    details = {"automated": True, "rules_held": held}
    accept = _engine_transition(case, Outcome.ACCEPTED)
    if case.accepted_at is None and accept is not None:
        _take(case, accept, opinion="", details=dict(details))
    approve = _engine_transition(case, Outcome.APPROVED)
    if approve is None:
        raise CaseConflict(_("The workflow has no approving transition."))
    opinion = _official(
        lambda: (
            _("Approved automatically (秒批): every rule of the service held: %(rules)s.")
            % {"rules": "；".join(held)}
        )
    )
    _take(case, approve, opinion=opinion, details={**details, "legal_basis": policy.article_id})
    if case.state != OuterState.CONCLUDED:
        conclude = _engine_transition(case, Outcome.CONCLUDED)
        if conclude is not None:
            _take(case, conclude, opinion="", details=dict(details))


def sample_percent(policy: AutoApprovalPolicy) -> int:
    if policy.sample_percent is not None:
        return policy.sample_percent
    return settings.AUTO_DECISION_SAMPLE_PERCENT


def _sample(case: Case, policy: AutoApprovalPolicy, check: AutoDecisionCheck) -> bool:
    """Draw the case for the post-check (事后核查) with the policy's share; at most one check."""
    from services.calendar import add_working_days_provisional

    if secrets.randbelow(100) >= sample_percent(policy):
        return False
    due, _provisional = add_working_days_provisional(clock.today(), VERIFICATION_WORKING_DAYS)
    _verification, created = Verification.objects.get_or_create(
        case=case,
        defaults={
            "department_id": case.department_id,
            "due_date": due,
            "kind": Verification.Kind.AUTOMATED,
        },
    )
    if not created:
        return False  # a commitment check is already due on this case
    check.sampled = True
    check.save(update_fields=["sampled"])
    trail.append_event(
        case, action=EventAction.AUTO_SAMPLED, actor=None, actor_role=AUTO_APPROVER,
        channel=SYSTEM_CHANNEL, from_state=case.state,
        from_stage=case.stage.code if case.stage_id else "", details={"due_date": due.isoformat()},
    )  # fmt: skip
    return True


def approve_if_rules_hold(*, case: Case) -> Case:
    """秒批 at submission: see the module's docstring. Returns the case as it now is. Never makes
    the submission fail: anything that stops the automated approval sends the case to a person."""
    policy = policy_for(case)
    if policy is None or not policy.rules:
        return case
    # The record is official: the rules' words in the official language, whoever submits.
    results = _official(lambda: auto_rules.evaluate(policy.rules, case))
    records = [result.as_record() for result in results]
    approved = all(result.held for result in results)
    check = AutoDecisionCheck.objects.create(case=case, approved=approved, results=records)
    if approved:
        try:
            with transaction.atomic():  # a savepoint: a refusal leaves the submitted case as it was
                _approve(case, policy, [result.label for result in results])
        except (CaseConflict, ValidationError, PermissionDenied) as exc:
            logger.warning("Case %s could not be approved automatically: %s", case.number, exc)
            reason = (
                getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [])) or str(exc)
            )
            records.append(
                {"label": _official(lambda: _("The workflow could approve it")), "held": False,
                 "why": str(reason)}
            )  # fmt: skip
            approved = False
            check.approved, check.results = False, records
            check.save(update_fields=["approved", "results"])
            case = trail.locked(case)
    if not approved:
        trail.append_event(
            case, action=EventAction.AUTO_CHECK_FAILED, actor=None, actor_role=AUTO_APPROVER,
            channel=SYSTEM_CHANNEL, from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "",
            details={"failed": [r["label"] for r in records if not r["held"]]},
        )  # fmt: skip
        return case
    _sample(case, policy, check)
    return case


# --- What staff and the applicant read -------------------------------------------------------------


def check_of(case: Case) -> AutoDecisionCheck | None:
    return AutoDecisionCheck.objects.filter(case=case).first()


def check_as_data(case: Case) -> dict | None:
    """The rules and their results, as the staff pages and the API give them."""
    check = check_of(case)
    if check is None:
        return None
    return {
        "approved": check.approved,
        "checked_at": check.checked_at,
        "sampled": check.sampled,
        "rules": [
            {
                "label": r.get("label", ""),
                "fact": r.get("fact", ""),
                "held": bool(r.get("held")),
                "why": r.get("why", ""),
            }
            for r in check.results
        ],  # fmt: skip
        "failed": [r.get("label", "") for r in check.results if not r.get("held")],
    }


def review_until(decision: Decision) -> dt.date:
    """The last day the applicant may ask for a human review of an automated decision."""
    return timezone.localdate(decision.decided_at) + dt.timedelta(
        days=settings.AUTO_DECISION_REVIEW_DAYS
    )


def review_state(case: Case) -> dict | None:
    """For the applicant's page and the API: the automated decision in force and until when a
    review may be asked, or the review asked and its state."""
    from ..decisions import decision_of

    review = (
        HumanReview.objects.filter(case=case).select_related("decision").order_by("-pk").first()
    )
    decision = decision_of(case)
    if review is None and (decision is None or not decision.automated):
        return None
    if review is not None:
        return {
            "state": review.state,
            "state_label": review.get_state_display(),
            "requested_at": review.requested_at,
            "decided_at": review.decided_at,
            "may_ask": False,
            "until": None,
        }
    until = review_until(decision)
    return {
        "state": "",
        "state_label": "",
        "requested_at": None,
        "decided_at": None,
        "may_ask": timezone.localdate() <= until,
        "until": until,
    }


def document_words(decision: Decision) -> dict:
    """What a decision document says about automation (documents._decision_content)."""
    if decision.automated:
        return {
            "human_review_until": review_until(decision).isoformat(),
            "human_review_days": settings.AUTO_DECISION_REVIEW_DAYS,
        }
    replaced = Decision.objects.filter(superseded_by=decision).exists()
    return {"replaces_automated": True} if replaced else {}


# --- The right to a human (PIPL art. 24) -----------------------------------------------------------


def _department_staff(department_id: int) -> QuerySet[User]:
    return User.objects.filter(
        memberships__department_id=department_id, memberships__role__in=DECIDING_ROLES
    ).distinct()


def request_human_review(
    *, case: Case, user: User, reason: str, channel: str = Channel.ONLINE
) -> HumanReview:
    """The applicant asks for a person to review the automated decision, within the period."""
    from ..decisions import decision_of
    from ..notifications import services as notifications

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why you want a person to review the decision.")]})
    with transaction.atomic():
        case = trail.locked(case)
        if not rules.is_applicant_side(case, user):
            raise PermissionDenied(_("Only the applicant may ask for a human review."))
        if HumanReview.objects.filter(case=case).exists():
            raise CaseConflict(
                _("A human review of this decision has already been asked for."),
                code="review_already_asked",
            )
        decision = decision_of(case)
        if decision is None or not decision.automated:
            raise CaseConflict(
                _("This application has no automated decision to review."), code="not_automated"
            )
        until = review_until(decision)
        if timezone.localdate() > until:
            raise CaseConflict(
                _(
                    "The period to ask for a human review ended on %(date)s (%(days)s days after "
                    "the decision). You may still apply for administrative review or bring a "
                    "lawsuit, as the decision says."
                )
                % {"date": until.isoformat(), "days": settings.AUTO_DECISION_REVIEW_DAYS},
                code="review_period_over",
            )
        review = HumanReview.objects.create(
            case=case,
            automated_decision=decision,
            department_id=case.department_id,
            reason=reason,
            requested_by=user,
        )
        event = trail.append_event(
            case, action=EventAction.HUMAN_REVIEW_REQUESTED, actor=user, actor_role=APPLICANT,
            channel=channel, from_state=case.state,
            from_stage=case.stage.code if case.stage_id else "", opinion=reason,
        )  # fmt: skip
        notifications.save_and_enqueue(
            notifications.to_staff(
                _department_staff(case.department_id),
                case=case,
                event=NotificationEvent.NEW_CASE,
                context=notifications._context(case, event),
            )
        )
    return review


def human_reviews_for(user: User) -> QuerySet[HumanReview]:
    """The reviews the user's departments decide, open ones first, oldest first."""
    departments = StaffMembership.objects.filter(user=user, role__in=DECIDING_ROLES).values(
        "department_id"
    )
    return (
        HumanReview.objects.filter(department_id__in=departments)
        .select_related("case__service_version", "case__applicant", "automated_decision")
        .order_by("-state", "requested_at", "pk")  # "open" sorts after "decided"
    )


def decide_human_review(
    *,
    review: HumanReview,
    user: User,
    approve: bool,
    reason: str,
    legal_basis=None,
    channel: str = Channel.ONLINE,
) -> Decision:
    """A caseworker of the department decides again; the automated decision is superseded by
    theirs, a new decision document is issued and the applicant told. A refusal closes the case
    as rejected and annuls the licences the automated approval gave."""
    from .. import decisions, documents
    from ..licences import services as licences
    from ..notifications import services as notifications

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason; the applicant will read it.")]})
    roles = set(
        StaffMembership.objects.filter(user=user, department_id=review.department_id).values_list(
            "role", flat=True
        )
    )
    if not roles & DECIDING_ROLES:
        raise PermissionDenied(_("Only staff of the deciding department review its decisions."))
    role = sorted(roles & DECIDING_ROLES)[0]
    with transaction.atomic():
        case = trail.locked(review.case)
        review = HumanReview.objects.select_for_update().get(pk=review.pk)
        if review.state != HumanReview.State.OPEN:
            raise CaseConflict(_("This human review has already been decided."), code="decided")
        automated = review.automated_decision
        outcome = Outcome.APPROVED if approve else Outcome.REJECTED
        basis, basis_en, article = decisions.basis_of(case, legal_basis)
        from_state = case.state
        fields = ["decision_reason", "decision_legal_basis", "row_version", "updated_at"]
        case.decision_reason, case.decision_legal_basis = reason, basis
        if not approve:
            case.state = OuterState.REJECTED
            case.closed_at = case.closed_at or timezone.now()
            fields += ["state", "closed_at"]
        case.row_version += 1
        case.save(update_fields=fields)
        event = trail.append_event(
            case, action=EventAction.HUMAN_REVIEW_DECIDED, actor=user, actor_role=role,
            channel=channel, from_state=from_state,
            from_stage=case.stage.code if case.stage_id else "", opinion=reason,
            details={"outcome": outcome, "replaces": automated.pk},
        )  # fmt: skip
        decision = Decision.objects.create(
            case=case,
            event=event,
            outcome=outcome,
            decided_by=user,
            decided_by_role=role,
            decided_at=event.at,
            reason=reason,
            article=article,
            legal_basis=basis,
            legal_basis_en=basis_en,
            effective_from=automated.effective_from if approve else None,
            valid_until=automated.valid_until if approve else None,
            automated=False,
            rights=decisions.rights_for(case.department),
        )
        automated.superseded_at, automated.superseded_by = event.at, decision
        automated.save(update_fields=["superseded_at", "superseded_by"])
        review.state, review.decision = HumanReview.State.DECIDED, decision
        review.decided_by, review.decided_at = user, event.at
        review.save(update_fields=["state", "decision", "decided_by", "decided_at"])
        if not approve:
            licences.revoke_for_case(case=case, reason=reason, event=event)
        documents.issue_document(case=case, kind=OfficialDocument.Kind.DECISION, event=event)
        # The message words the decision as any decision's (reason, basis, rights): the event
        # read as one with the decision's outcome. The trail keeps the engine's own action, so
        # nothing that follows approvals (licences.issue_missing) takes it for a new approval.
        worded = copy.copy(event)
        worded.outcome = outcome
        notifications.tell_applicant(case, NotificationEvent.DECIDED, worded)
    return decision
