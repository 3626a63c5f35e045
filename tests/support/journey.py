"""A whole journey through the portal with known identifiers, for the at-rest tests
(tests/test_at_rest.py): online, at a counter, through a proxy, with notifications sent.

It runs inside a test on PostgreSQL, and in a separate process on a fresh SQLite file (through
`python -m tests.support.journey`), so both databases can be dumped afterwards and searched for the
ID numbers and phones used. Everything goes through the portal's own functions and pages.
"""

from __future__ import annotations

import io
import json
import sys

from stdnum.cn import ric

# Made-up, valid numbers that appear nowhere else in the tests.
CITIZEN_ID = "33010619880715441" + ric.calc_check_digit("33010619880715441" + "0")
CITIZEN_PHONE = "13571234567"
CITIZEN_EMAIL = "journey.citizen@example.net"
TYPED_PHONE = "18655501234"  # typed into the form by the citizen (a second contact)
WALK_IN_ID = "33010619570203002" + ric.calc_check_digit("33010619570203002" + "0")
WALK_IN_PHONE = "15890001122"
PROXY_ID = "33010219900101123" + ric.calc_check_digit("33010219900101123" + "0")
PROXY_PHONE = "17712340987"
ONLINE_PROXY_ID = "33010519950505555" + ric.calc_check_digit("33010519950505555" + "0")
ONLINE_PROXY_PHONE = "13312345098"

ID_NUMBERS = [CITIZEN_ID, WALK_IN_ID, PROXY_ID, ONLINE_PROXY_ID]
PHONES = [CITIZEN_PHONE, TYPED_PHONE, WALK_IN_PHONE, PROXY_PHONE, ONLINE_PROXY_PHONE]
EMAILS = [CITIZEN_EMAIL]


def schema() -> dict:
    """The tests' usual form, with the applicant's ID number and phone filled in from their
    verified profile and a second phone typed by the applicant."""
    from tests.factories import SIMPLE_SCHEMA

    properties = {
        **SIMPLE_SCHEMA["properties"],
        "applicant_id": {
            "type": "string",
            "format": "id_number",
            "title": "申请人公民身份号码",
            "x-prefill": "id_number",
        },
        "applicant_phone": {
            "type": "string",
            "maxLength": 11,
            "title": "联系电话",
            "x-prefill": "phone",
        },
        "second_phone": {"type": "string", "maxLength": 11, "title": "备用电话"},
    }
    return {**SIMPLE_SCHEMA, "properties": properties}


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return SimpleUploadedFile("photo.png", out.getvalue(), content_type="image/png")


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def run() -> dict:
    """The journey; returns what it made, for the test to check it really happened."""
    from django.test import Client

    from accounts import proxies
    from accounts.identity import enter_in_demo_register
    from accounts.models import CitizenProfile, Role
    from cases import documents, workflow
    from cases.counter.services import file_counter_application
    from cases.models import Notification, OfficialDocument
    from cases.notifications import services as notifications
    from services.models import Outcome
    from tests.factories import (
        PASSWORD,
        CitizenProfileFactory,
        DepartmentFactory,
        StaffMembershipFactory,
        make_service,
    )
    from tests.support.sms import code_sent_to

    department = DepartmentFactory(code="journey", name="示范市行政审批局")
    staff = {
        role: StaffMembershipFactory(department=department, role=role).user
        for role in (Role.CASEWORKER, Role.COUNTER_CLERK)
    }
    service = make_service("JOURNEY-1", department=department, form_schema=schema()).service
    pages = []
    material = service.current_version.materials.get()

    # Online: the citizen files with their verified identity filled in, and a phone typed.
    # The citizen registers on the page: the population register confirms them, a code sent
    # to their phone proves it is theirs (the page keeps what was typed between the two posts).
    enter_in_demo_register(real_name="钱途", id_number=CITIZEN_ID, phone=CITIZEN_PHONE)
    typed = {
        "username": "journey-citizen",
        "real_name": "钱途",
        "id_number": CITIZEN_ID,
        "phone": CITIZEN_PHONE,
        "email": CITIZEN_EMAIL,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "preferred_language": "zh-hans",
    }
    visitor = Client()
    pages.append(visitor.post("/accounts/register/", {**typed, "send_code": "1"}))
    registered = visitor.post(
        "/accounts/register/", {**typed, "sms_code": code_sent_to(CITIZEN_PHONE)}
    )
    assert registered.status_code == 302, registered.content.decode()[:3000]
    pages.append(registered)
    citizen = CitizenProfile.objects.get(user__username="journey-citizen")
    case, _ = workflow.create_draft(
        service=service, user=citizen.user, data={"shop_area": 12, "second_phone": TYPED_PHONE}
    )
    attachment = workflow.add_attachment(
        case=case, material_id=material.pk, user=citizen.user, upload=_png()
    )
    case = workflow.submit_application(case=case, user=citizen.user)

    # The caseworker opens it on the page and through the API, reveals the phone, accepts it.
    caseworker = staff[Role.CASEWORKER]
    staff_client = _client(caseworker)
    pages += [
        staff_client.get(f"/work/{case.number}/"),
        staff_client.get(f"/api/v1/work/cases/{case.number}/"),
        staff_client.get(f"/work/{case.number}/documents/{attachment.pk}/"),
        staff_client.post(
            f"/api/v1/work/cases/{case.number}/reveal/",
            {"field": "phone", "reason": "电话核实经营场所"},
            "application/json",
        ),
    ]
    workflow.claim_case(case=case, user=caseworker)
    acceptance = workflow.transition_with_outcome(case, caseworker, Outcome.ACCEPTED)
    case = workflow.apply_transition(case=case, name=acceptance.name, actor=caseworker)

    # An online proxy (帮办) authorised by the citizen files for them.
    proxy = CitizenProfileFactory(
        real_name="孙帮", id_number=ONLINE_PROXY_ID, phone=ONLINE_PROXY_PHONE
    )
    authorisation = proxies.grant(
        principal_user=citizen.user,
        agent_id_number=ONLINE_PROXY_ID,
        agent_real_name="孙帮",
        relationship="child",
    )
    proxied, _ = workflow.create_draft(
        service=service,
        user=proxy.user,
        data={"shop_area": 30},
        applicant=citizen,
        authorisation=authorisation,
    )
    workflow.add_attachment(case=proxied, material_id=material.pk, user=proxy.user, upload=_png())
    proxied = workflow.submit_application(case=proxied, user=proxy.user)

    # At a counter: a walk-in, brought by a proxy whose letter the clerk checked; the desk's
    # look-up keeps the person in the clerk's session.
    clerk = staff[Role.COUNTER_CLERK]
    clerk_client = _client(clerk)
    pages.append(clerk_client.post("/counter/", {"id_number": WALK_IN_ID}))
    counter_case = file_counter_application(
        clerk=clerk,
        citizen={"real_name": "李大爷", "id_number": WALK_IN_ID, "phone": WALK_IN_PHONE},
        service=service,
        data={"shop_area": 8, "second_phone": PROXY_PHONE},
        materials_received=[material.pk],
        accept=True,
        agent={
            "real_name": "李小帮",
            "id_number": PROXY_ID,
            "phone": PROXY_PHONE,
            "relationship": "child",
            "letter_checked": True,
        },
        scans={material.pk: [_png()]},
    )
    pages.append(clerk_client.post("/counter/", {"id_number": CITIZEN_ID}))

    # Every message of the journey is sent (SMS and e-mail).
    pending = Notification.objects.filter(state=Notification.State.PENDING)
    for pk in pending.values_list("pk", flat=True):
        notifications.deliver(pk)
    sent = list(Notification.objects.values_list("state", flat=True))
    # The notices issued on the way (收件凭证, 受理通知书), rendered, sealed and stored.
    documents.make_pending()
    made_documents = OfficialDocument.objects.exclude(sha256="").count()
    return {
        "cases": [case.number, proxied.number, counter_case.number],
        "statuses": [response.status_code for response in pages],
        "sent": sent,
        "documents": made_documents,
    }


def main() -> None:
    """`python -m tests.support.journey`: migrate nothing, run the journey on the configured
    database (the caller has migrated it), print what it made as JSON."""
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, the locmem mail box
    print(json.dumps(run()))


if __name__ == "__main__":
    sys.exit(main())
