"""Who may see and do what with an application: a matrix over every case endpoint (pages and API)
and every role (DESIGN "Data protection").

Whoever may see a case gets 200; everyone else who is signed in gets 404, the same answer as for a
case that does not exist, so a refusal reveals nothing; anonymous visitors are sent to sign in
(pages) or refused (API). Staff of the case's department see its submitted cases in any role, never
drafts; staff of another department and other citizens see nothing; a superuser without memberships
is nobody's caseworker. Actions: only the actors of the current stage act; a staff member of the
department who lacks the role gets 403 with a message (the case is visible to them anyway); anyone
who may not see the case gets 404. Every refused request leaves the database as it was.

The shared data is built once for the module, inside a transaction rolled back at the end; each test
runs in a savepoint of it, and every action test starts from a case of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings

from accounts.models import Role, User
from cases import workflow
from cases.models import Attachment, Case, Event
from services.models import ServiceItem

from . import files
from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    UserFactory,
    make_service,
)

pytestmark = pytest.mark.django_db

PDF = files.PDF
OWNER_NAME = "业主甲"  # the owner's real name: shown only where the owner's case may be seen
OTHER_NAME = "路人乙"

# The actors, in the order of the matrix columns.
ACTORS = (
    "anonymous",
    "owner",  # the applicant
    "citizen",  # another citizen (with a case of their own in department B)
    "caseworker_a",
    "reviewer_a",
    "approver_a",
    "clerk_a",  # counter clerk
    "caseworker_b",
    "admin_a",  # department admin
    "superuser",  # no memberships
)
STAFF = {
    "caseworker_a": ("a", Role.CASEWORKER),
    "reviewer_a": ("a", Role.REVIEWER),
    "approver_a": ("a", Role.APPROVER),
    "clerk_a": ("a", Role.COUNTER_CLERK),
    "caseworker_b": ("b", Role.CASEWORKER),
    "admin_a": ("a", Role.DEPARTMENT_ADMIN),
}

# What an actor gets.
OK = 200  # the object itself
NF = 404  # as if it did not exist
LOGIN = "login"  # a page: 302 to /accounts/login/?next=...
DENY = "deny"  # the API, anonymous: 401 or 403, revealing nothing
SHOWN = "shown"  # a list: 200, with the case in it
HIDDEN = "hidden"  # a list: 200, without the case (nor the owner's name)
EMPTY = "empty"  # an API list: 200 and `results == []`
DONE = "done"  # an action: done (API 200; page 302 back to the case)
FORBIDDEN = "forbidden"  # an action, staff of the department without the role: API 403, page 302

# {case}: the owner's submitted case in department A; {doc}: its attachment;
# {draft}: the owner's draft in department A.
# fmt: off
READ_MATRIX = {
    # endpoint                                 anonymous owner  citizen cw_a   rev_a  appr_a clerk_a cw_b   admin_a super
    # Applicant pages
    "/applications/":                           (LOGIN, SHOWN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "/applications/{case}/":                    (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{case}/submitted/":          (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{case}/receipt.pdf":         (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{case}/documents/{doc}/":    (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{draft}/":                   (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{draft}/form/":              (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{draft}/materials/":         (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/applications/{draft}/review/":            (LOGIN, OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    # Staff workbench pages
    "/work/":                                   (LOGIN, NF,    NF,     SHOWN,  SHOWN,  SHOWN,  SHOWN,  HIDDEN, SHOWN,  NF),
    "/work/{case}/":                            (LOGIN, NF,    NF,     OK,     OK,     OK,     OK,     NF,     OK,     NF),
    "/work/{case}/documents/{doc}/":            (LOGIN, NF,    NF,     OK,     OK,     OK,     OK,     NF,     OK,     NF),
    "/work/{draft}/":                           (LOGIN, NF,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    # Bad ratings are answered by the department's head or admin; the rating tablet is the clerk's
    "/work/rectifications/":                    (LOGIN, NF,    NF,     NF,     NF,     NF,     NF,     NF,     HIDDEN, NF),
    "/counter/rate/?number={case}":             (LOGIN, NF,    NF,     NF,     NF,     NF,     OK,     NF,     NF,     NF),
    # API for applicants
    "/api/v1/applications/":                    (DENY,  SHOWN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    "/api/v1/applications/{case}/":             (DENY,  OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/api/v1/applications/{case}/receipt.pdf":  (DENY,  OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/api/v1/applications/{draft}/":            (DENY,  OK,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    # API for staff: a citizen's queue is an empty list, not someone else's cases
    "/api/v1/work/queue/":                      (DENY,  EMPTY, EMPTY,  SHOWN,  SHOWN,  SHOWN,  SHOWN,  HIDDEN, SHOWN,  EMPTY),
    "/api/v1/work/cases/{case}/":               (DENY,  NF,    NF,     OK,     OK,     OK,     OK,     NF,     OK,     NF),
    "/api/v1/work/cases/{draft}/":              (DENY,  NF,    NF,     NF,     NF,     NF,     NF,     NF,     NF,     NF),
    "/api/v1/work/rectifications/":             (DENY,  EMPTY, EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY,  EMPTY),
}

# Actions, each on a fresh submitted case {case} of the owner in department A.
ACTION_MATRIX = {
    # action                                                anonymous owner citizen cw_a  rev_a      appr_a     clerk_a cw_b admin_a    super
    "POST /api/v1/work/cases/{case}/transition/ accept":    (DENY,  NF,   NF,     DONE, FORBIDDEN, FORBIDDEN, DONE,   NF,  FORBIDDEN, NF),
    "POST /api/v1/work/cases/{case}/claim/":                (DENY,  NF,   NF,     DONE, FORBIDDEN, FORBIDDEN, DONE,   NF,  FORBIDDEN, NF),
    "POST /api/v1/applications/{case}/withdraw/":           (DENY,  DONE, NF,     NF,   NF,        NF,        NF,     NF,  NF,        NF),
    # The same actions in the pages
    "POST /work/{case}/act/ accept":                        (LOGIN, NF,   NF,     DONE, FORBIDDEN, FORBIDDEN, DONE,   NF,  FORBIDDEN, NF),
    "POST /work/{case}/claim/":                             (LOGIN, NF,   NF,     DONE, FORBIDDEN, FORBIDDEN, DONE,   NF,  FORBIDDEN, NF),
    "POST /applications/{case}/withdraw/":                  (LOGIN, DONE, NF,     NF,   NF,        NF,        NF,     NF,  NF,        NF),
}
# fmt: on

# The applicant's other writes: nobody but the owner reaches them (what the owner gets there is
# business, tested in test_applications.py). {draft} is the owner's draft, {case} their submitted case.
OWNER_ONLY_WRITES = [
    "POST /api/v1/applications/{draft}/submit/",
    "PATCH /api/v1/applications/{draft}/",
    "POST /api/v1/applications/{draft}/attachments/",
    "POST /api/v1/applications/{case}/supplement/",
    "POST /applications/{draft}/form/",
    "POST /applications/{draft}/materials/",
    "POST /applications/{draft}/review/",
    "POST /applications/{case}/supplement/",
    "POST /api/v1/applications/{case}/rating/",
    "POST /api/v1/applications/{case}/rating/answer/",
    "POST /applications/{case}/rating/",
    "POST /applications/{case}/rating/answer/",
]


def _cases(matrix: dict) -> list:
    for row in matrix.values():
        assert len(row) == len(ACTORS)
    return [
        pytest.param(endpoint, actor, expected, id=f"{endpoint} | {actor}")
        for endpoint, row in matrix.items()
        for actor, expected in zip(ACTORS, row, strict=True)
    ]


# --- Data ------------------------------------------------------------------------------------------


@dataclass
class World:
    service_a: ServiceItem
    users: dict[str, User]
    case: Case
    draft: Case
    others_case: Case  # the other citizen's submitted case in department B
    doc: Attachment
    others_doc: Attachment
    sessions: dict[str, str] = field(default_factory=dict)  # actor: session key, signed in once

    def url(self, template: str, case: Case | None = None) -> str:
        return template.format(
            case=(case or self.case).number, draft=self.draft.number, doc=self.doc.pk
        )


def submitted_case(service: ServiceItem, user: User) -> Case:
    case, _created = workflow.create_draft(service=service, user=user, data={"shop_area": 35})
    material = case.service_version.materials.get(required=True)
    workflow.add_attachment(
        case=case,
        material_id=material.pk,
        upload=SimpleUploadedFile("申请书.pdf", PDF),
        user=user,
    )
    return workflow.submit_application(case=case, user=user)


def _build() -> World:
    departments = {
        "a": DepartmentFactory(code="perm-a", name="甲局"),
        "b": DepartmentFactory(code="perm-b", name="乙局"),
    }
    service_a = make_service("PERM-A", department=departments["a"]).service
    service_b = make_service("PERM-B", department=departments["b"]).service
    owner = CitizenProfileFactory(user__username="perm-owner", real_name=OWNER_NAME).user
    citizen = CitizenProfileFactory(user__username="perm-citizen", real_name=OTHER_NAME).user
    users = {"owner": owner, "citizen": citizen}
    for actor, (department, role) in STAFF.items():
        users[actor] = StaffMembershipFactory(
            user__username=f"perm-{actor}", department=departments[department], role=role
        ).user
    users["superuser"] = UserFactory(username="perm-root", is_superuser=True, is_staff=True)
    case = submitted_case(service_a, owner)
    draft, _created = workflow.create_draft(service=service_a, user=owner, data={"shop_area": 12})
    others_case = submitted_case(service_b, citizen)
    sessions = {}
    for actor, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return World(
        service_a=service_a,
        users=users,
        case=case,
        draft=draft,
        others_case=others_case,
        doc=case.attachments.get(),
        others_doc=others_case.attachments.get(),
        sessions=sessions,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """Built once; rolled back when the module is done. Each test runs in a savepoint."""
    media = tmp_path_factory.mktemp("private")
    with (
        django_db_blocker.unblock(),
        override_settings(PRIVATE_MEDIA_ROOT=media),
        transaction.atomic(),
    ):
        yield _build()
        transaction.set_rollback(True)


@pytest.fixture
def fresh(world, db) -> Case:
    """A submitted case of the owner's of its own (with its attachment), for one action test."""
    return submitted_case(world.service_a, world.users["owner"])


def client_for(world: World, actor: str) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    if actor != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    return client


def body(response) -> bytes:
    """The content; a streamed response is closed by the test client once read to the end."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.row_version, case.assignee_id, case.events.count(),
            case.attachments.count(), case.data)  # fmt: skip


# --- Reads -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "actor", "expected"), _cases(READ_MATRIX))
def test_read(world, endpoint, actor, expected):
    response = client_for(world, actor).get(world.url(endpoint))
    raw = body(response)
    text = raw.decode(errors="replace")
    number = world.case.number
    secrets = (number, OWNER_NAME)
    if actor != "owner":
        assert world.draft.number not in text  # drafts stay with their applicant
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert OWNER_NAME not in text
    elif expected == DENY:
        assert response.status_code in (401, 403), text
        assert not any(secret in text for secret in secrets), text
    elif expected == NF:
        assert response.status_code == 404, text[:500]
        assert not any(secret in text for secret in secrets), text
    elif expected == HIDDEN:
        assert response.status_code == 200
        assert not any(secret in text for secret in secrets)
    elif expected == EMPTY:
        assert response.status_code == 200
        assert response.json()["results"] == []
    elif expected == SHOWN:
        assert response.status_code == 200
        assert number in text
    else:
        assert expected == OK
        assert response.status_code == 200, text[:500]
        if "/documents/" in endpoint:
            assert raw == PDF
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
        elif endpoint.endswith("receipt.pdf"):
            assert response["Content-Type"] == "application/pdf"
            assert raw.startswith(b"%PDF")
        else:
            shown = world.draft if "{draft}" in endpoint else world.case
            assert shown.number in text
        assert response["Cache-Control"] == "no-store, private"


def test_the_lists_are_not_empty_for_those_who_should_see_something_else(world):
    """HIDDEN means filtered, not broken: B's caseworker and the other citizen see B's case."""
    others = world.others_case.number
    assert others in body(client_for(world, "caseworker_b").get("/work/")).decode()
    queue = client_for(world, "caseworker_b").get("/api/v1/work/queue/").json()["results"]
    assert [row["number"] for row in queue] == [others]
    mine = client_for(world, "citizen").get("/api/v1/applications/").json()["results"]
    assert [row["number"] for row in mine] == [others]
    both = client_for(world, "owner").get("/api/v1/applications/").json()["results"]
    assert {row["number"] for row in both} == {world.case.number, world.draft.number}


@pytest.mark.parametrize(
    ("actor", "url"),
    [
        ("citizen", "/applications/{case}/"),
        ("citizen", "/api/v1/applications/{case}/"),
        ("caseworker_b", "/work/{case}/"),
        ("caseworker_b", "/api/v1/work/cases/{case}/"),
        ("caseworker_a", "/work/{draft}/"),
        ("caseworker_a", "/api/v1/work/cases/{draft}/"),
    ],
)
def test_a_refusal_looks_exactly_like_a_missing_case(world, actor, url):
    client = client_for(world, actor)
    refused = client.get(world.url(url))
    missing = client.get(url.format(case="PERM-A-20000101-9999", draft="PERM-A-20000101-9998"))
    assert refused.status_code == missing.status_code == 404
    assert body(refused) == body(missing)


@pytest.mark.parametrize(
    ("actor", "url"),
    [
        # A case one may see, with the attachment id of a case one may not.
        ("citizen", "/applications/{others}/documents/{doc}/"),
        ("caseworker_b", "/work/{others}/documents/{doc}/"),
        ("owner", "/applications/{case}/documents/{others_doc}/"),
        ("caseworker_a", "/work/{case}/documents/{others_doc}/"),
    ],
)
def test_an_attachment_of_another_case_is_not_served_through_ones_own(world, actor, url):
    url = url.format(
        others=world.others_case.number,
        case=world.case.number,
        doc=world.doc.pk,
        others_doc=world.others_doc.pk,
    )
    response = client_for(world, actor).get(url)
    assert response.status_code == 404
    assert PDF not in body(response)


# --- Actions ---------------------------------------------------------------------------------------


def _request(client: Client, action: str, url: str):
    method = action.split()[0]
    if "/api/" in url:
        if action.endswith(" accept"):
            data = {"transition": "accept"}
        elif "withdraw" in url:
            data = {"reason": "不需要了"}
        else:
            data = {}
        return client.generic(method, url, data=_json(data), content_type="application/json")
    if action.endswith(" accept"):
        return client.post(url, {"transition": "accept"})
    if "withdraw" in url:
        return client.post(url, {"reason": "不需要了"})
    return client.post(url)


def _json(data: dict) -> str:
    return json.dumps(data)


@pytest.mark.parametrize(("action", "actor", "expected"), _cases(ACTION_MATRIX))
def test_action(world, fresh, action, actor, expected):
    url = action.split()[1].format(case=fresh.number)
    user = world.users.get(actor)
    before = snapshot(fresh)
    response = _request(client_for(world, actor), action, url)
    after = Case.objects.get(pk=fresh.pk)
    is_api = url.startswith("/api/")
    text = body(response).decode(errors="replace")
    if expected == DONE:
        if is_api:
            assert response.status_code == 200, text
            assert response.json()["number"] == fresh.number
        else:
            assert response.status_code == 302
            back = "/work/" if url.startswith("/work/") else "/applications/"
            assert response["Location"] == f"{back}{fresh.number}/"
        if "accept" in action:
            assert after.state == "accepted"
        elif "claim" in action:
            assert after.assignee_id == user.pk
        else:
            assert after.state == "withdrawn"
        assert after.row_version == before[1] + 1
        assert after.events.count() == before[3] + 1
        return
    # Refused: nothing changed.
    assert snapshot(fresh) == before
    if expected == FORBIDDEN:
        if is_api:
            assert response.status_code == 403, text
            assert response.json() == {
                "detail": "You may not do this for this application.",
                "errors": {},
            }
        else:
            assert response.status_code == 302
            assert response["Location"] == f"/work/{fresh.number}/"
    elif expected == NF:
        assert response.status_code == 404, text[:500]
        assert OWNER_NAME not in text
    elif expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    else:
        assert expected == DENY
        assert response.status_code in (401, 403)
        assert fresh.number not in text and OWNER_NAME not in text


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != "owner"])
@pytest.mark.parametrize("write", OWNER_ONLY_WRITES)
def test_only_the_owner_reaches_the_applicants_writes(world, write, actor):
    method, template = write.split()
    url = world.url(template)
    material = world.draft.service_version.materials.get(required=True)
    before = (snapshot(world.case), snapshot(world.draft), Attachment.objects.count())
    client = client_for(world, actor)
    if template.endswith("/attachments/") or template.endswith("/materials/"):
        upload = SimpleUploadedFile("x.pdf", PDF)
        response = client.post(url, {"material": material.pk, "file": upload})
    elif method == "PATCH":
        response = client.patch(url, _json({"data": {"shop_area": 99}}), "application/json")
    elif url.startswith("/api/"):
        response = client.post(url, _json({}), content_type="application/json")
    else:
        response = client.post(url, {"shop_area": "99", "note": "x", "continue": "1"})
    if actor == "anonymous":
        if url.startswith("/api/"):
            assert response.status_code in (401, 403)
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=")
    else:
        assert response.status_code == 404
    assert (snapshot(world.case), snapshot(world.draft), Attachment.objects.count()) == before
    assert Event.objects.filter(case__in=[world.case, world.draft]).count() == 3


# The staff's other writes on a case (what staff of the department get there is business, tested in
# test_engine_rules.py and test_permissions_stages.py): nobody outside the department reaches them.
STAFF_ONLY_WRITES = [
    ("POST /api/v1/work/cases/{case}/take-over/", {"reason": "休假"}),
    ("POST /api/v1/work/cases/{case}/consult/", {"expert": "perm-caseworker_b", "question": "?"}),
    ("POST /api/v1/work/cases/{case}/opinion/", {"opinion": "同意"}),
    ("POST /api/v1/work/cases/{case}/repair/", {"stage": "intake", "reason": "修复"}),
    ("POST /work/{case}/take-over/", {"reason": "休假"}),
    ("POST /work/{case}/consult/", {"expert": "perm-caseworker_b", "question": "?"}),
    ("POST /work/{case}/opinion/", {"opinion": "同意"}),
    ("POST /work/{case}/repair/", {"stage": "intake", "reason": "修复"}),
]
OUTSIDERS = ("anonymous", "owner", "citizen", "caseworker_b", "superuser")


@pytest.mark.parametrize("actor", OUTSIDERS)
@pytest.mark.parametrize(
    ("write", "data"), STAFF_ONLY_WRITES, ids=[w for w, _d in STAFF_ONLY_WRITES]
)
def test_only_the_departments_staff_reach_the_staff_writes(world, write, data, actor):
    url = world.url(write.split()[1])
    before = (snapshot(world.case), world.case.consultations.count())
    client = client_for(world, actor)
    if url.startswith("/api/"):
        response = client.post(url, _json(data), content_type="application/json")
    else:
        response = client.post(url, data)
    if actor == "anonymous":
        if url.startswith("/api/"):
            assert response.status_code in (401, 403)
        else:
            assert response["Location"].startswith("/accounts/login/?next=")
    else:
        assert response.status_code == 404
    assert OWNER_NAME not in body(response).decode(errors="replace")
    assert (snapshot(world.case), world.case.consultations.count()) == before


@pytest.mark.parametrize("actor", ACTORS)
def test_the_official_documents_are_the_applicants_alone(world, actor):
    from cases.documents import issue_document

    document = issue_document(case=world.case, kind="acceptance_notice")
    client = client_for(world, actor)
    listed = client.get(world.url("/api/v1/applications/{case}/documents/"))
    pdf = client.get(f"/api/v1/applications/{world.case.number}/documents/{document.pk}.pdf")
    page = client.get(f"/applications/{world.case.number}/official/{document.pk}.pdf")
    if actor == "owner":
        assert listed.status_code == 200
        assert document.number in [d["number"] for d in listed.json()]
        assert pdf.status_code == page.status_code == 200
        assert body(pdf).startswith(b"%PDF")
    elif actor == "anonymous":
        assert listed.status_code in (401, 403) and pdf.status_code in (401, 403)
        assert page.status_code == 302
    else:
        assert listed.status_code == pdf.status_code == page.status_code == 404
        assert document.number not in body(listed).decode()
