"""Decisions as records (DESIGN "Official documents and decisions"), and the applicant's rights.

`record_decision` runs inside the deciding transition's transaction (transitions.take): the article
the decider chose from the service's articles is copied onto the record with its text, so a later
edit of the article never changes what was decided. A refusal names where to challenge it: the
department's review body (复议机关) within 60 days (行政复议法 §20) and the court within six months
(行政诉讼法 §46).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Department
from services.models import DECISION_OUTCOMES, LegalArticle, Outcome, localized

from .models import Case, Decision

REVIEW_DAYS = 60  # 行政复议法 §20: sixty days from knowing of the act
LITIGATION_MONTHS = 6  # 行政诉讼法 §46: six months from knowing of the act
REFUSING_OUTCOMES = (Outcome.REJECTED, Outcome.NOT_ACCEPTED)


def _review_body(department: Department) -> tuple[str, str]:
    """The department's review body; unset: the people's government above it (a bureau's city or
    district government, 行政复议法 §24), which is who reviews a department's acts by default."""
    if department.review_body:
        return department.review_body, department.review_body_en
    government = department.parent
    while government is not None and government.kind not in (
        Department.Kind.CITY,
        Department.Kind.DISTRICT,
    ):
        government = government.parent
    if government is None:
        return "本级人民政府", "the people's government at the same level"
    return government.name, government.name_en


def rights_for(department: Department) -> dict:
    """Where and by when the applicant may challenge a decision of `department` (a record: copied
    onto the decision and the document, so a later change of the settings changes neither)."""
    review_body, review_body_en = _review_body(department)
    return {
        "review_body": review_body,
        "review_body_en": review_body_en or review_body,
        "review_days": REVIEW_DAYS,
        "court": department.court or "有管辖权的人民法院",
        "court_en": department.court_en
        or department.court
        or "the people's court with jurisdiction",
        "litigation_months": LITIGATION_MONTHS,
    }


def rights_text(rights: dict, language: str | None = None) -> str:
    """The rights as one sentence the applicant reads, in `language` (default: the active one)."""
    if not rights:
        return ""
    with translation.override(language or translation.get_language()):
        return _(
            "If you disagree, you may apply for administrative review to %(review_body)s within "
            "%(review_days)s days of receiving this decision, or bring an administrative lawsuit "
            "before %(court)s within %(litigation_months)s months."
        ) % rights_words(rights)


def rights_words(rights: dict) -> dict:
    """The parts of the rights a short message names, in the active language."""
    english = (translation.get_language() or "").startswith("en")
    return {
        "review_body": rights["review_body_en" if english else "review_body"],
        "court": rights["court_en" if english else "court"],
        "review_days": rights["review_days"],
        "litigation_months": rights["litigation_months"],
    }


def articles_for(case: Case):
    """The articles a decider of this case chooses from."""
    return LegalArticle.objects.filter(service_id=case.service_id, is_active=True)


def choose_article(case: Case, chosen) -> LegalArticle | None:
    """The article the decider chose (an id), checked against the service's; required when the
    service has articles. None when it has none (then the service's 设定依据 is the basis)."""
    articles = articles_for(case)
    if chosen in (None, ""):
        if articles.exists():
            raise ValidationError(
                {"legal_basis": [_("Choose the article of law this decision applies.")]}
            )
        return None
    try:
        return articles.get(pk=int(chosen))
    except (TypeError, ValueError, LegalArticle.DoesNotExist):
        raise ValidationError(
            {"legal_basis": [_("Choose one of this service's articles of law.")]}
        ) from None


def basis_of(case: Case, chosen) -> tuple[str, str, LegalArticle | None]:
    """(the basis in Chinese, in English, the article) of a decision applying `chosen`."""
    article = choose_article(case, chosen)
    if article is not None:
        return article.citation("zh-hans"), article.citation("en"), article
    version = case.service_version
    return version.legal_basis, version.legal_basis_en or version.legal_basis, None


def record_decision(step) -> Decision | None:
    """The decision record of a deciding transition (approved, rejected, not accepted)."""
    case, outcome = step.case, step.transition.outcome
    if outcome not in DECISION_OUTCOMES:
        return None
    basis, basis_en, article = basis_of(case, step.details.get("legal_basis"))
    effective_from = valid_until = None
    if outcome == Outcome.APPROVED:
        effective_from = step.day
        licence_type = case.service_version.licence_type
        if licence_type is not None and licence_type.validity_years:
            from .licences.services import valid_until_for

            valid_until = valid_until_for(licence_type, effective_from)
    return Decision.objects.create(
        case=case,
        event=step.event,
        outcome=outcome,
        decided_by=step.actor,
        decided_by_role=step.event.actor_role,
        decided_at=step.event.at,
        reason=step.opinion,
        article=article,
        legal_basis=basis,
        legal_basis_en=basis_en,
        effective_from=effective_from,
        valid_until=valid_until,
        automated=step.actor is None,
        rights=rights_for(case.department),
    )


def take_back(case: Case, at: dt.datetime | None = None) -> int:
    """An approval returned for review is no longer the decision."""
    return Decision.objects.filter(case=case, withdrawn_at__isnull=True).update(
        withdrawn_at=at or timezone.now()
    )


def decision_of(case: Case) -> Decision | None:
    """The decision in force on the case, or None."""
    if case.decided_at is None:
        return None
    return (
        Decision.objects.filter(case=case, withdrawn_at__isnull=True, superseded_at__isnull=True)
        .select_related("decided_by", "article")
        .first()
    )


def legal_basis_shown(decision: Decision) -> str:
    """The basis in the reader's language."""
    return localized(decision, "legal_basis")


def as_data(decision: Decision | None) -> dict | None:
    """The decision as the API and pages give it, in the active language."""
    if decision is None:
        return None
    from accounts.models import Role

    from .vocabulary import OUTCOME_LABELS

    rights = decision.rights or {}
    roles = dict(Role.choices)
    return {
        "outcome": decision.outcome,
        "outcome_label": str(OUTCOME_LABELS.get(decision.outcome, decision.outcome)),
        "decided_at": decision.decided_at,
        "decided_by": str(roles.get(decision.decided_by_role, ""))
        if not decision.automated
        else "",
        "department": decision.case.department.label,
        "reason": decision.reason,
        "legal_basis": localized(decision, "legal_basis"),
        "article": decision.article_id,
        "effective_from": decision.effective_from,
        "valid_until": decision.valid_until,
        "automated": decision.automated,
        "rights": {**rights_words(rights), "text": rights_text(rights)} if rights else None,
    }
