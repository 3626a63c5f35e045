"""Retention and purge (Open Forms' data cleanup as an anchor): what the portal stops keeping, when.

Run by `manage.py purge` (with `--dry-run`: the counts only) and the daily beat task; every step is
set-based and idempotent, so a second run, or a run after an outage, does only what is still due.

- **Drafts** untouched (`updated_at`) for DRAFT_RETENTION_DAYS are purged, after their applicant was
  told once, DRAFT_RETENTION_WARNING_DAYS before (a "draft_expiring" message on every channel, through
  the outbox). A draft whose warning has not had those days yet waits for them, even when the sweep was
  down; touching a draft after the warning makes it fresh again (and warned again later).
- **Notification bodies** older than NOTIFICATION_BODY_RETENTION_DAYS lose their subject, body,
  address, context and last error; the row keeps its event, channel, state and times for the figures.
  Pending rows are left alone (they are still to be delivered).
- **Closed cases** are archived once their service's retention period (保管期限,
  ServiceItem.retention_years: 10 or 30 years, or permanent) has passed since they closed.

Why rows stay. Every case has an append-only, hash-chained trail from its first moment (the draft's
"create" event); the database refuses to delete events, and a chain head cannot go while its events
are there (cases migrations 0002 and 0015). So neither a purged draft nor an archived case is deleted:
its personal content is, and the row stays with `purged_at` set, one more event on its trail saying
so. A purged draft is hidden everywhere (cases.access: the applicant's side is the only one that ever
saw drafts). An archived case stays visible as a shell (number, service, dates, outcome) and keeps
everything the public figures count (service, department, received, decided, closed, working days
used, on time, visits, state; the rating's score, dimensions and tags), so cases/transparency counts
it as before.

What archiving removes: the form data (the applicant's name, ID number and phone copied in it), the
uploaded documents (rows, then the files after commit), the texts written about this person (the
decision's reason, the requests for documents' notes, consultations, the verification's finding, the
rating's comment) and the messages' words and addresses. Official documents (受理通知书, 决定书 ...)
and e-licences: the law keeps them for the retention period, which is the period the service's file
is kept (档案法; the archive rules the choices come from); once it passes, their content and signed
PDFs are destroyed with the rest of the file (鉴定销毁) and the register stays (kind, number, dates,
SHA-256), so a document number still shows it was issued. A licence still in force is the holder's,
whatever the file's age: a case whose licence is in force is not archived until the licence ends
(revoked, annulled, superseded or expired). 永久 files are never archived.

What cannot be removed: the trail's events (who, when, which step, the opinions written) are the
record of the administrative acts and are kept as they are; an opinion or a signed commitment's name
in an event stays with the case's trail for as long as the trail is kept.

**Bundles (一件事).** A bundle application holds the combined answers and the uploads its member
cases were filed from (the members' attachments point to the same stored files). A bundle draft
is treated as a case draft: warned once (a "draft_expiring" message), then purged (answers and
uploads gone, the row hidden), after the same periods. A submitted bundle keeps them while any
member case still holds personal data; once every member case is archived, the answers and the
uploads go too (rows, then the files after commit), and each member case's trail says so (a
"bundle_purged" event). A purged draft has no trail: its purge is written to the audit log.

**Sharing snapshots.** What a registry answered for a case (SharingRequest.data, kept for staff as
"已核验") goes with the case: when its draft is purged or it is archived. The request's row stays
(registry, fields, outcome, when): the owning department's list of requests (共享调用记录) counts it.

**People.** A profile without an account (a walk-in, or a citizen who closed theirs: accounts.closure)
keeps their name and ID number only while a case of theirs still holds personal data; once none does
(and no licence of theirs is in force), the name, phone and ID number are removed too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.crypto import keyed_hash
from accounts.models import CitizenProfile
from services.models import OuterState, RetentionPeriod

from . import uploads
from .models import (
    CLOSED_STATES,
    Attachment,
    BundleApplication,
    BundleAttachment,
    BundleMemberCase,
    Case,
    Consultation,
    Decision,
    Licence,
    Notification,
    NotificationEvent,
    OfficialDocument,
    Rating,
    SharingRequest,
    SupplementRequest,
    Verification,
)
from .vocabulary import EventAction


@dataclass
class PurgeReport:
    """What a run did, or (dry run) would do."""

    drafts_warned: int = 0
    drafts_purged: int = 0
    notifications_purged: int = 0
    cases_archived: int = 0
    documents_removed: int = 0
    sharing_snapshots_removed: int = 0
    bundle_drafts_warned: int = 0
    bundle_drafts_purged: int = 0
    bundles_purged: int = 0
    profiles_cleared: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- What is due ------------------------------------------------------------------------------------


def _days(name: str) -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, name))


def _years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def drafts_to_warn(now: dt.datetime) -> QuerySet[Case]:
    """Drafts untouched long enough to be warned, and not warned since they were last touched."""
    lead = max(settings.DRAFT_RETENTION_DAYS - settings.DRAFT_RETENTION_WARNING_DAYS, 0)
    return Case.objects.filter(
        state=OuterState.DRAFT,
        purged_at__isnull=True,
        updated_at__lt=now - dt.timedelta(days=lead),
    ).filter(Q(draft_warned_at__isnull=True) | Q(draft_warned_at__lt=F("updated_at")))


def drafts_to_purge(now: dt.datetime) -> QuerySet[Case]:
    """Drafts untouched for DRAFT_RETENTION_DAYS whose warning (given after the last touch) is at
    least DRAFT_RETENTION_WARNING_DAYS old."""
    return Case.objects.filter(
        state=OuterState.DRAFT,
        purged_at__isnull=True,
        updated_at__lt=now - _days("DRAFT_RETENTION_DAYS"),
        draft_warned_at__isnull=False,
        draft_warned_at__gte=F("updated_at"),
        draft_warned_at__lte=now - _days("DRAFT_RETENTION_WARNING_DAYS"),
    )


def notifications_to_purge(now: dt.datetime) -> QuerySet[Notification]:
    return Notification.objects.filter(
        purged_at__isnull=True, created_at__lt=now - _days("NOTIFICATION_BODY_RETENTION_DAYS")
    ).exclude(state=Notification.State.PENDING)


def _licences_in_force(today: dt.date) -> QuerySet[Licence]:
    return Licence.objects.filter(revoked_at__isnull=True, superseded_at__isnull=True).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    )


def cases_to_archive(now: dt.datetime) -> QuerySet[Case]:
    """Closed cases past their service's retention period, whose e-licences are no longer in force."""
    due = Q(pk__in=[])
    for period in RetentionPeriod:
        if period == RetentionPeriod.PERMANENT:
            continue
        due |= Q(service__retention_years=period.value, closed_at__lt=_years_before(now, period))
    in_force = _licences_in_force(timezone.localdate(now)).filter(case=OuterRef("pk"))
    return (
        Case.objects.filter(
            state__in=CLOSED_STATES, closed_at__isnull=False, purged_at__isnull=True
        )
        .filter(due)
        .exclude(Exists(in_force))
    )


def bundle_drafts_to_warn(now: dt.datetime) -> QuerySet[BundleApplication]:
    """Bundle drafts untouched long enough to be warned, as `drafts_to_warn`."""
    lead = max(settings.DRAFT_RETENTION_DAYS - settings.DRAFT_RETENTION_WARNING_DAYS, 0)
    return BundleApplication.objects.filter(
        state=BundleApplication.State.DRAFT,
        purged_at__isnull=True,
        updated_at__lt=now - dt.timedelta(days=lead),
    ).filter(Q(draft_warned_at__isnull=True) | Q(draft_warned_at__lt=F("updated_at")))


def bundle_drafts_to_purge(now: dt.datetime) -> QuerySet[BundleApplication]:
    """Bundle drafts due for purging, as `drafts_to_purge`."""
    return BundleApplication.objects.filter(
        state=BundleApplication.State.DRAFT,
        purged_at__isnull=True,
        updated_at__lt=now - _days("DRAFT_RETENTION_DAYS"),
        draft_warned_at__isnull=False,
        draft_warned_at__gte=F("updated_at"),
        draft_warned_at__lte=now - _days("DRAFT_RETENTION_WARNING_DAYS"),
    )


def bundles_to_purge(
    now: dt.datetime | None = None, *, archiving: QuerySet[Case] | None = None
) -> QuerySet[BundleApplication]:
    """Submitted bundles every member case of which is archived (`archiving`: or is about to be,
    for a dry run): none still holds personal data, none waits to be filed, and at least one was
    filed (and so has passed its retention)."""
    members = BundleMemberCase.objects.filter(application=OuterRef("pk"))
    holding = Q(case__isnull=False, case__purged_at__isnull=True)
    if archiving is not None:
        holding &= ~Q(case__in=archiving)
    kept = members.filter(
        holding | Q(state__in=[BundleMemberCase.State.PENDING, BundleMemberCase.State.WAITING])
    )
    return (
        BundleApplication.objects.filter(purged_at__isnull=True)
        .exclude(state=BundleApplication.State.DRAFT)
        .filter(Exists(members.filter(case__isnull=False)))
        .exclude(Exists(kept))
    )


def profiles_to_clear(now: dt.datetime | None = None) -> QuerySet[CitizenProfile]:
    """Profiles without an account none of whose cases (as applicant or proxy) still holds personal
    data, holding no licence in force and not yet cleared. With `now`: only those older than the
    draft retention period (a walk-in registered this morning has not filed yet)."""
    today = timezone.localdate(now)
    kept = Case.objects.filter(purged_at__isnull=True).filter(
        Q(applicant=OuterRef("pk")) | Q(agent=OuterRef("pk"))
    )
    profiles = CitizenProfile.objects.filter(user__isnull=True).exclude(real_name="")
    if now is not None:
        profiles = profiles.filter(created_at__lt=now - _days("DRAFT_RETENTION_DAYS"))
    return profiles.exclude(Exists(kept)).exclude(
        Exists(_licences_in_force(today).filter(holder=OuterRef("pk")))
    )


# --- Doing it ---------------------------------------------------------------------------------------


def _locked(case: Case) -> Case:
    from .workflow.trail import locked

    return locked(case)


def _empty_notifications(queryset: QuerySet[Notification], now: dt.datetime) -> int:
    return queryset.update(
        subject="", body="", address="", context={}, last_error="", purged_at=now
    )


def _remove_documents(case: Case) -> tuple[list[str], int]:
    """Delete the case's uploads and empty its official documents and licences; return the stored
    names to delete after commit and how many documents and licences were emptied."""
    names = list(Attachment.objects.filter(case=case).values_list("stored_name", flat=True))
    Attachment.objects.filter(case=case).delete()
    emptied = 0
    for model, empty in ((OfficialDocument, {}), (Licence, [])):
        rows = list(model.objects.filter(case=case).exclude(file="", content=empty))
        names += [row.file.name for row in rows if row.file]
        emptied += model.objects.filter(pk__in=[row.pk for row in rows]).update(
            content=empty, file=""
        )
    return names, emptied


def _snapshots_of(case: Case) -> int:
    return SharingRequest.objects.filter(case=case, outcome=SharingRequest.Outcome.FOUND).count()


def _remove_snapshots(case: Case) -> int:
    """Empty what registries answered for the case (the request rows stay); how many."""
    return SharingRequest.objects.filter(case=case, outcome=SharingRequest.Outcome.FOUND).update(
        data={}
    )


def _after_commit_delete(names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: uploads.delete_stored(names), robust=True)


def purge_draft(*, case: Case, now: dt.datetime | None = None, reason: str = "retention") -> bool:
    """Remove a draft's data and documents (files after commit) and hide it; its trail stays and says
    so. Returns False for a case that is no longer a draft or already purged (nothing changes)."""
    from .workflow.trail import append_event

    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case)
        if not case.is_draft or case.purged_at is not None:
            return False
        names, _emptied = _remove_documents(case)
        case.data, case.materials_received, case.queue_ticket = {}, [], ""
        case.commitment_signed_at, case.purged_at = None, now
        case.row_version += 1
        case.save(
            update_fields=[
                "data",
                "materials_received",
                "queue_ticket",
                "commitment_signed_at",
                "purged_at",
                "row_version",
                "updated_at",
            ]
        )
        _empty_notifications(Notification.objects.filter(case=case), now)
        snapshots = _remove_snapshots(case)
        append_event(
            case,
            action=EventAction.DRAFT_PURGED,
            actor=None,
            details={"reason": reason, "documents": len(names), "snapshots": snapshots},
        )
        _after_commit_delete(names)
    return True


def archive_case(*, case: Case, now: dt.datetime | None = None) -> bool:
    """Remove a closed case's personal data, keeping its figures and trail (module docstring).
    Returns False when it is not due (open, already archived, a licence in force)."""
    from .workflow.trail import append_event

    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case)
        if case.state not in CLOSED_STATES or case.purged_at is not None:
            return False
        if _licences_in_force(timezone.localdate(now)).filter(case=case).exists():
            return False
        names, emptied = _remove_documents(case)
        case.data, case.queue_ticket, case.decision_reason = {}, "", ""
        case.purged_at = now
        case.row_version += 1
        case.save(
            update_fields=["data", "queue_ticket", "decision_reason", "purged_at", "row_version"]
        )
        Decision.objects.filter(case=case).update(reason="")
        SupplementRequest.objects.filter(case=case).update(note="")
        Consultation.objects.filter(case=case).update(question="", opinion="")
        Verification.objects.filter(case=case).update(finding="")
        Rating.objects.filter(case=case).update(comment="")
        _empty_notifications(Notification.objects.filter(case=case, purged_at__isnull=True), now)
        snapshots = _remove_snapshots(case)
        append_event(
            case,
            action=EventAction.ARCHIVED,
            actor=None,
            details={
                "retention_years": case.service.retention_years,
                "documents": len(names),
                "emptied": emptied,
                "snapshots": snapshots,
            },
        )
        _after_commit_delete(names)
    return True


def purge_bundle(
    *, application: BundleApplication, now: dt.datetime | None = None, reason: str = "retention"
) -> bool:
    """Remove a bundle's combined answers and uploads (files after commit) when they are due: a
    draft left untouched (`bundle_drafts_to_purge`, then hidden) or a submitted bundle every
    member case of which is archived (`bundles_to_purge`). The member cases' trails say so; a
    draft's purge, which has no trail, is written to the audit log. Returns False when it is not
    due (touched again, a member case still holding data, already purged): nothing changes."""
    from auditlog.models import LogEntry

    from .workflow.trail import append_event

    now = now or timezone.now()
    with transaction.atomic():
        # The member cases first, then the bundle: the engine locks in that order (case_moved).
        cases = [
            _locked(case)
            for case in Case.objects.filter(bundle_link__application=application).order_by("pk")
        ]
        application = BundleApplication.objects.select_for_update(of=("self",)).get(
            pk=application.pk
        )
        draft = application.state == BundleApplication.State.DRAFT
        due = bundle_drafts_to_purge(now) if draft else bundles_to_purge(now)
        if not due.filter(pk=application.pk).exists():
            return False
        names = list(application.attachments.values_list("stored_name", flat=True))
        BundleAttachment.objects.filter(application=application).delete()
        application.data, application.purged_at = {}, now
        application.row_version += 1
        application.save(update_fields=["data", "purged_at", "row_version", "updated_at"])
        details = {"bundle": application.number, "reason": reason, "documents": len(names)}
        if draft:
            _empty_notifications(
                Notification.objects.filter(
                    case__isnull=True,
                    event=NotificationEvent.DRAFT_EXPIRING,
                    context__number=application.number,
                    purged_at__isnull=True,
                ),
                now,
            )
            LogEntry.objects.log_create(
                application,
                force_log=True,
                action=LogEntry.Action.UPDATE,
                actor=None,
                object_repr=application.number,
                changes={"purged_at": [None, now.isoformat()]},
                additional_data={"event": "bundle_draft_purged", **details},
            )
        for case in cases:
            append_event(case, action=EventAction.BUNDLE_PURGED, actor=None, details=details)
        _after_commit_delete(names)
    return True


def clear_profile(*, profile: CitizenProfile) -> bool:
    """Remove the name, phone and ID number of a person the portal no longer needs to know (see
    `profiles_to_clear`); the row stays because their cases' rows point to it. The ID number's
    keyed hash becomes one of nothing (the constraint wants one per row), so the person is found
    by it no more, and may register anew."""
    with transaction.atomic():
        profile = CitizenProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.user_id is not None or not profile.real_name:
            return False
        profile.real_name, profile.phone, profile.id_number = "", "", ""
        profile.id_number_hash = keyed_hash(f"cleared-profile:{profile.pk}")
        profile.save(update_fields=["real_name", "phone", "id_number", "id_number_hash"])
    return True


def warn_drafts(*, now: dt.datetime) -> int:
    """Tell the applicant (and their proxy) of each draft due for a warning when it will go; once."""
    from .notifications import services as notifications

    warned = 0
    purge_on = now + _days("DRAFT_RETENTION_WARNING_DAYS")
    for case_id in list(drafts_to_warn(now).values_list("pk", flat=True)):
        with transaction.atomic():
            case = (
                drafts_to_warn(now)
                .select_for_update(skip_locked=True, of=("self",))
                .filter(pk=case_id)
                .select_related("service_version", "applicant__user", "agent__user")
                .first()
            )
            if case is None:
                continue
            date = max(case.updated_at + _days("DRAFT_RETENTION_DAYS"), purge_on)
            context = {
                "number": case.number,
                "service": case.service_version.name,
                "date": timezone.localdate(date).isoformat(),
            }
            notifications.save_and_enqueue(
                notifications.to_applicants(case, NotificationEvent.DRAFT_EXPIRING, context)
            )
            Case.objects.filter(pk=case.pk).update(draft_warned_at=now)
            warned += 1
    return warned


def warn_bundle_drafts(*, now: dt.datetime) -> int:
    """Tell the applicant of each bundle draft due for a warning when it will go; once (the same
    "draft_expiring" message as a case draft's, naming the bundle)."""
    from services.models import localized

    from .notifications import services as notifications

    warned = 0
    purge_on = now + _days("DRAFT_RETENTION_WARNING_DAYS")
    for application_id in list(bundle_drafts_to_warn(now).values_list("pk", flat=True)):
        with transaction.atomic():
            application = (
                bundle_drafts_to_warn(now)
                .select_for_update(skip_locked=True, of=("self",))
                .filter(pk=application_id)
                .select_related("bundle", "applicant__user")
                .first()
            )
            if application is None:
                continue
            date = max(application.updated_at + _days("DRAFT_RETENTION_DAYS"), purge_on)
            context = {
                "number": application.number,
                "date": timezone.localdate(date).isoformat(),
                "case_url": notifications.absolute_url(
                    reverse("cases:bundles:form", args=[application.number])
                ),
            }
            bundle = application.bundle
            notifications.save_and_enqueue(
                notifications.rows_for_person(
                    application.applicant,
                    case=None,
                    event=NotificationEvent.DRAFT_EXPIRING,
                    context=context,
                    words=lambda bundle=bundle: {"service": localized(bundle, "name")},
                )
            )
            BundleApplication.objects.filter(pk=application.pk).update(draft_warned_at=now)
            warned += 1
    return warned


def purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Every step of the module docstring, in order; with `dry_run` only the counts."""
    now = now or timezone.now()
    if dry_run:
        archive = cases_to_archive(now)
        # A bundle whose last member case is archived in this run goes in this run as well.
        bundles = bundle_drafts_to_purge(now) | bundles_to_purge(now, archiving=archive)
        return PurgeReport(
            drafts_warned=drafts_to_warn(now).count(),
            drafts_purged=drafts_to_purge(now).count(),
            notifications_purged=notifications_to_purge(now).count(),
            cases_archived=archive.count(),
            documents_removed=Attachment.objects.filter(
                Q(case__in=drafts_to_purge(now)) | Q(case__in=archive)
            ).count()
            + BundleAttachment.objects.filter(application__in=bundles).count(),
            sharing_snapshots_removed=SharingRequest.objects.filter(
                Q(case__in=drafts_to_purge(now)) | Q(case__in=archive),
                outcome=SharingRequest.Outcome.FOUND,
            ).count(),
            bundle_drafts_warned=bundle_drafts_to_warn(now).count(),
            bundle_drafts_purged=bundle_drafts_to_purge(now).count(),
            bundles_purged=bundles_to_purge(now, archiving=archive).count(),
            profiles_cleared=profiles_to_clear(now).count(),
        )
    report = PurgeReport()
    report.drafts_warned = warn_drafts(now=now)
    for case in list(drafts_to_purge(now).only("pk")):
        documents = Attachment.objects.filter(case=case).count()
        snapshots = _snapshots_of(case)
        if purge_draft(case=case, now=now):
            report.drafts_purged += 1
            report.documents_removed += documents
            report.sharing_snapshots_removed += snapshots
    report.notifications_purged = _empty_notifications(notifications_to_purge(now), now)
    for case in list(cases_to_archive(now).only("pk")):
        documents = Attachment.objects.filter(case=case).count()
        snapshots = _snapshots_of(case)
        if archive_case(case=case, now=now):
            report.cases_archived += 1
            report.documents_removed += documents
            report.sharing_snapshots_removed += snapshots
    report.bundle_drafts_warned = warn_bundle_drafts(now=now)
    for application in list(bundle_drafts_to_purge(now).only("pk")):
        documents = BundleAttachment.objects.filter(application=application).count()
        if purge_bundle(application=application, now=now):
            report.bundle_drafts_purged += 1
            report.documents_removed += documents
    for application in list(bundles_to_purge(now).only("pk")):
        documents = BundleAttachment.objects.filter(application=application).count()
        if purge_bundle(application=application, now=now):
            report.bundles_purged += 1
            report.documents_removed += documents
    for profile in list(profiles_to_clear(now).only("pk")):
        report.profiles_cleared += clear_profile(profile=profile)
    return report
