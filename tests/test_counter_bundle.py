"""A bundle (一件事) at the counter (issue 18 item 5): the clerk picks 出生一件事 for a walk-in
citizen (or their proxy), fills the one combined form, ticks and scans each material once and files
it: one bundle application and one member case per member in its own department, all with channel
`counter` and the queue ticket; all or nothing; the registries are asked as online and a registry
that is down is shown, with paper taken instead; accepted on the spot only where the clerk may."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import CitizenProfile, Department, ProxyAuthorisation, Role
from cases.models import Attachment, BundleApplication, Case, SharingRequest
from services import bundles
from services.demo_bundles import BIRTH
from services.models import Bundle

from . import files
from .factories import StaffMembershipFactory, id_number_for
from .test_demo_bundles import BIRTH_ANSWERS, decide, staff_of

pytestmark = pytest.mark.django_db

WALK_IN = {"id_number": id_number_for(871), "real_name": "陈妈妈", "phone": "13712345678"}
PROXY = {"id_number": id_number_for(872), "real_name": "陈奶奶", "phone": "13798765432"}
BIRTH_SERVICE, INSURANCE, CARD = "330100-PSB-QR-001", "330100-YB-DJ-001", "330100-RS-GG-002"
CERTIFICATE = "出生医学证明"
HOUSEHOLD = "户籍信息"


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEBUG = True
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("load_demo")
    bundle = Bundle.objects.get(code=BIRTH["code"])
    materials = {m["name"]: m for m in bundles.combined_materials(bundle)}
    return {"bundle": bundle, "materials": materials, "tmp": tmp_path / "private"}


def clerk_of(code: str, *roles):
    department = Department.objects.get(code=code)
    user = StaffMembershipFactory(department=department, role=Role.COUNTER_CLERK).user
    for role in roles:
        StaffMembershipFactory(department=department, role=role, user=user)
    client = Client()
    client.force_login(user)
    return user, client


def pdf(name="scan.pdf"):
    return SimpleUploadedFile(name, files.PDF, content_type="application/pdf")


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def file_by_api(client, demo, **changes):
    body = {
        "citizen": WALK_IN,
        "bundle": BIRTH["code"],
        "data": BIRTH_ANSWERS,
        "materials_received": [demo["materials"][CERTIFICATE]["id"]],
        "queue_ticket": "B021",
        **changes,
    }
    return client.post(
        "/api/v1/counter/bundle-applications/", body, content_type="application/json"
    )


def flat_answers(**changes) -> dict:
    """BIRTH_ANSWERS as the page's fields name them (a member's own under `key-field`)."""
    values = {}
    for key, value in BIRTH_ANSWERS.items():
        if isinstance(value, dict):
            values.update({f"{key}-{field}": v for field, v in value.items()})
        else:
            values[key] = value
    values["consent"] = "on"
    return {**values, **changes}


def test_a_clerk_files_the_birth_bundle_through_the_pages(demo):
    _clerk, client = clerk_of("city-psb")
    looked_up = client.post("/counter/", {"id_number": WALK_IN["id_number"], "lookup": "1"})
    assert looked_up.status_code == 200
    # The picker lists the bundle apart, named as one.
    page = looked_up.content.decode()
    assert BIRTH["code"] in page and '"group"' in page
    went = client.post(
        "/counter/",
        {"id_number": WALK_IN["id_number"], "looked_up": WALK_IN["id_number"],
         "real_name": WALK_IN["real_name"], "phone": WALK_IN["phone"], "service": "出生一件事",
         "continue": "1"},
    )  # fmt: skip
    assert went.status_code == 302 and went["Location"] == "/counter/bundle/"
    form = client.get("/counter/bundle/")
    assert form.status_code == 200
    text = form.content.decode()
    # One form: the shared child's name once, each member's own fields under it; each material
    # once, serving the services that ask for it.
    assert text.count('name="child_name"') == 1 and 'name="card-bank"' in text
    certificate = demo["materials"][CERTIFICATE]
    assert text.count(f'name="scan-{certificate["id"]}"') == 1

    filed = client.post(
        "/counter/bundle/",
        {**flat_answers(), "received": [certificate["id"]], "counter-queue_ticket": "B021",
         f"scan-{certificate['id']}": pdf("certificate.pdf")},
    )  # fmt: skip
    assert filed.status_code == 302, filed.content.decode()[:3000]
    application = BundleApplication.objects.get()
    assert filed["Location"] == f"/counter/bundle/done/{application.number}/"
    assert application.channel == "counter" and application.state == "in_progress"
    profile = CitizenProfile.objects.get(real_name=WALK_IN["real_name"])
    assert application.applicant == profile and profile.user is None
    links = {link.service.code: link for link in application.member_cases.select_related("case")}
    assert links[CARD].state == "waiting" and links[CARD].case is None
    for code, department in ((BIRTH_SERVICE, "city-psb"), (INSURANCE, "city-hsa")):
        case = links[code].case
        assert case.channel == "counter" and case.queue_ticket == "B021"
        assert case.department.code == department and case.state == "submitted"
        assert case.applicant == profile and case.visits == 1
        name = "insured_name" if code == INSURANCE else "child_name"
        assert case.data[name] == BIRTH_ANSWERS["child_name"]
        # Identity filled by the server, as online; the paper tick and the one scan serve both.
        assert case.data["applicant_name"] == profile.real_name
        assert case.data["applicant_id"] == WALK_IN["id_number"]
        material = case.service_version.materials.get(name=CERTIFICATE)
        assert material.pk in case.materials_received
        assert case.attachments.get(material=material).original_name == "certificate.pdf"
    scans = Attachment.objects.filter(case__bundle_link__application=application)
    assert scans.values("stored_name").distinct().count() == 1  # stored once

    done = client.get(filed["Location"])
    assert done.status_code == 200
    text = done.content.decode()
    assert application.number in text
    for code in (BIRTH_SERVICE, INSURANCE):
        case = links[code].case
        assert case.number in text and case.department.name in text
    assert "/counter/bundle/done/" in text and "receipt/" in text
    pdf_receipt = client.get(f"/counter/done/{links[INSURANCE].case.number}/receipt.pdf")
    assert pdf_receipt.status_code == 200 and pdf_receipt["Content-Type"] == "application/pdf"
    receipt = client.get(f"/counter/bundle/done/{application.number}/receipt/")
    assert receipt.status_code == 200
    text = receipt.content.decode()
    assert application.number in text and links[BIRTH_SERVICE].case.number in text
    assert "/counter/" in text and f"/applications/bundles/{application.number}/" not in text

    # The card, filed when the birth is registered, is a counter case with the ticket too.
    decide(links[BIRTH_SERVICE].case, staff_of("city-psb"))
    card = application.member_cases.get(service__code=CARD).case
    assert card is not None and card.channel == "counter" and card.queue_ticket == "B021"
    assert card.data["birth_registration"] == links[BIRTH_SERVICE].case.number
    # Another clerk does not open this bundle's pages.
    _other, other = clerk_of("city-psb")
    assert other.get(f"/counter/bundle/done/{application.number}/").status_code == 404
    assert other.get(f"/counter/bundle/done/{application.number}/receipt/").status_code == 404


def test_the_counter_api_files_a_bundle_and_answers_as_the_bundle_api(demo):
    clerk, client = clerk_of("city-psb")
    response = file_by_api(client, demo)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "in_progress" and body["missing_materials"] == []
    members = {m["service"]: m for m in body["members"]}
    assert set(members) == {BIRTH_SERVICE, INSURANCE, CARD}
    assert members[BIRTH_SERVICE]["department"] == "city-psb"
    assert members[INSURANCE]["department"] == "city-hsa"
    assert members[CARD]["state"] == "waiting" and members[CARD]["number"] is None
    for code in (BIRTH_SERVICE, INSURANCE):
        case = Case.objects.get(number=members[code]["number"])
        assert (case.channel, case.queue_ticket, case.filed_by) == ("counter", "B021", clerk)
    application = BundleApplication.objects.get(number=body["number"])
    assert application.channel == "counter" and application.filed_by == clerk
    # Registries were asked for each member's shared material, at the counter, by the clerk.
    requests = SharingRequest.objects.filter(case__bundle_link__application=application,
                                             purpose="material")  # fmt: skip
    assert requests.count() == 2 and {r.channel for r in requests} == {"counter"}
    assert {r.requested_by for r in requests} == {clerk}
    assert {row["case"] for row in body["shared_data"]} == {
        members[BIRTH_SERVICE]["number"], members[INSURANCE]["number"]
    }  # fmt: skip
    # A walk-in known already is reused, not registered twice.
    assert file_by_api(client, demo).status_code == 201
    assert CitizenProfile.objects.filter(real_name=WALK_IN["real_name"]).count() == 1


def test_a_citizen_with_an_account_finds_the_counter_bundle_in_it_and_the_trail_names_the_clerk(
    demo,
):
    clerk, client = clerk_of("city-psb")
    citizen = CitizenProfile.objects.get(user__username="citizen")
    walk_in = {"id_number": citizen.id_number, "real_name": citizen.real_name, "phone": ""}
    response = file_by_api(client, demo, citizen=walk_in, accept=True)
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    application = BundleApplication.objects.get(number=number)
    assert application.applicant == citizen
    for link in application.member_cases.select_related("case"):
        if link.case is None:
            continue
        events = list(link.case.events.order_by("pk"))
        assert {e.channel for e in events} == {"counter"} and {e.actor for e in events} == {clerk}
    home = Client()
    home.force_login(citizen.user)
    mine = home.get(f"/api/v1/bundle-applications/{number}/")
    assert mine.status_code == 200 and mine.json()["number"] == number
    assert home.get(f"/applications/bundles/{number}/").status_code == 200
    listed = {c["number"] for c in home.get("/api/v1/applications/").json()["results"]}
    assert {m["number"] for m in mine.json()["members"] if m["number"]} <= listed
    # Nobody else's: another citizen gets 404.
    stranger = Client()
    stranger.force_login(staff_of("city-hsa")[Role.CASEWORKER])
    assert stranger.get(f"/api/v1/bundle-applications/{number}/").status_code == 404


def test_only_counter_clerks_file_a_bundle(demo):
    caseworker = staff_of("city-psb")[Role.CASEWORKER]
    for user in (caseworker, CitizenProfile.objects.filter(user__isnull=False).first().user):
        client = Client()
        client.force_login(user)
        assert file_by_api(client, demo).status_code == 403
        assert client.get("/counter/bundle/").status_code == 404
    assert BundleApplication.objects.count() == 0 and Case.objects.count() == 0


def test_bad_input_is_refused_with_field_messages_and_nothing_is_saved(demo):
    _clerk, client = clerk_of("city-psb")
    before = (CitizenProfile.objects.count(), Case.objects.count())
    cases = [
        ({"data": {**BIRTH_ANSWERS, "child_name": ""}}, "data.child_name"),
        ({"data": {**BIRTH_ANSWERS, "birth": {**BIRTH_ANSWERS["birth"],
                                               "certificate_number": "bad"}}},
         "data.birth.certificate_number"),
        ({"materials_received": []}, "materials"),
        ({"materials_received": [999999]}, "materials_received"),
        ({"bundle": "NO-SUCH"}, "bundle"),
        ({"citizen": {**WALK_IN, "id_number": "110105"}}, "id_number"),
        ({"data": "not an object"}, "data"),
    ]  # fmt: skip
    for changes, field in cases:
        response = file_by_api(client, demo, **changes)
        assert response.status_code == 400, (changes, response.content)
        errors = response.json()["errors"]
        assert any(key == field or key.endswith(field) for key in errors), (field, errors)
    assert (CitizenProfile.objects.count(), Case.objects.count()) == before
    assert BundleApplication.objects.count() == 0 and SharingRequest.objects.count() == 0

    # On the page: the refusal is shown beside the field, what was typed is kept, and the scan
    # stored before a member refused is gone with the rest.
    client.post("/counter/", {"id_number": WALK_IN["id_number"], "looked_up": WALK_IN["id_number"],
                              "real_name": WALK_IN["real_name"], "phone": WALK_IN["phone"],
                              "service": BIRTH["code"], "continue": "1"})  # fmt: skip
    certificate = demo["materials"][CERTIFICATE]["id"]
    refused = client.post(
        "/counter/bundle/",
        {**flat_answers(**{"birth-certificate_number": "bad"}), "received": [certificate],
         f"scan-{certificate}": pdf(), "counter-queue_ticket": "B022"},
    )  # fmt: skip
    assert refused.status_code == 400
    text = refused.content.decode()
    assert 'id="id_birth-certificate_number_error"' in text or "birth-certificate_number" in text
    assert 'value="B022"' in text and BIRTH_ANSWERS["child_name"] in text
    assert BundleApplication.objects.count() == 0 and stored_files(demo["tmp"]) == []
    assert CitizenProfile.objects.count() == before[0]


def test_a_registry_down_at_the_counter_is_shown_and_paper_is_taken_instead(demo, settings):
    settings.DEMO_REGISTRIES_DOWN = ["household"]
    _clerk, client = clerk_of("city-psb")
    response = file_by_api(client, demo)
    assert response.status_code == 201, response.json()  # never blocked by the registry
    body = response.json()
    rows = [r for r in body["shared_data"] if r["material_name"] == HOUSEHOLD]
    assert len(rows) == 2 and {r["outcome"] for r in rows} == {"unavailable"}
    number = body["number"]
    done = client.get(f"/counter/bundle/done/{number}/")
    text = done.content.decode()
    assert "Not verified" in text or "未核验" in text
    assert 'name="material"' in text and HOUSEHOLD in text  # the clerk may scan it instead
    # Nothing chosen: told so, beside the field.
    refused = client.post(f"/counter/bundle/done/{number}/", {"material": HOUSEHOLD})
    assert refused.status_code == 400 and 'href="#scan-file"' in refused.content.decode()
    scanned = client.post(
        f"/counter/bundle/done/{number}/", {"material": HOUSEHOLD, "file": pdf("hukou.pdf")}
    )
    assert scanned.status_code == 302
    application = BundleApplication.objects.get(number=number)
    filed = [link.case for link in application.member_cases.select_related("case") if link.case]
    for case in filed:
        material = case.service_version.materials.get(name=HOUSEHOLD)
        assert case.attachments.get(material=material).original_name == "hukou.pdf"
    assert len(stored_files(demo["tmp"])) == 1  # one scan for both cases
    page = client.get(f"/counter/bundle/done/{number}/").content.decode()
    assert 'name="material"' not in page  # nothing lacks it any more
    # Or taken on paper before filing: ticked and scanned once, as any other material.
    household = demo["materials"][HOUSEHOLD]["id"]
    ticked = file_by_api(
        client, demo, materials_received=[demo["materials"][CERTIFICATE]["id"], household]
    )
    assert ticked.status_code == 201
    for member in ticked.json()["members"]:
        if member["number"]:
            case = Case.objects.get(number=member["number"])
            material = case.service_version.materials.get(name=HOUSEHOLD)
            assert material.pk in case.materials_received


def test_a_proxy_files_the_bundle_for_the_citizen_with_the_letter_checked(demo):
    _clerk, client = clerk_of("city-psb")
    agent = {**PROXY, "relationship": "relative"}
    before = ProxyAuthorisation.objects.count()
    unchecked = file_by_api(client, demo, agent=agent)
    assert unchecked.status_code == 400
    assert any(key.startswith("agent.") for key in unchecked.json()["errors"])
    assert BundleApplication.objects.count() == 0
    assert ProxyAuthorisation.objects.count() == before
    response = file_by_api(client, demo, agent={**agent, "letter_checked": True})
    assert response.status_code == 201, response.json()
    application = BundleApplication.objects.get(number=response.json()["number"])
    principal = CitizenProfile.objects.get(real_name=WALK_IN["real_name"])
    proxy = CitizenProfile.objects.get(real_name=PROXY["real_name"])
    assert application.applicant == principal
    assert application.authorisation.agent == proxy
    for link in application.member_cases.select_related("case"):
        if link.case is not None:
            assert (link.case.applicant, link.case.agent) == (principal, proxy)
            assert link.case.authorisation == application.authorisation
            assert link.case.data["applicant_name"] == WALK_IN["real_name"]


def test_accepted_on_the_spot_only_in_the_clerks_own_department(demo):
    _clerk, client = clerk_of("city-psb")
    response = file_by_api(client, demo, accept=True)
    assert response.status_code == 201, response.json()
    states = {m["service"]: m["state"] for m in response.json()["members"]}
    assert states[BIRTH_SERVICE] == "accepted"  # the clerk's own department
    assert states[INSURANCE] == "submitted"  # 医保's queue
    assert states[CARD] == "waiting"
    # Without the tick nothing is accepted, even where the clerk may.
    plain = file_by_api(client, demo)
    assert {m["state"] for m in plain.json()["members"]} == {"submitted", "waiting"}


def test_the_desk_lists_bundles_without_a_query_per_bundle(demo, django_assert_max_num_queries):
    _clerk, client = clerk_of("city-psb")
    with django_assert_max_num_queries(20) as captured:
        response = client.get("/counter/")
    assert response.status_code == 200
    baseline = len(captured)
    Bundle.objects.create(
        code="330100-YJS-099", name="另一件事", name_en="Another", is_published=True,
        published_at=timezone.now(),
        lead_department=Department.objects.get(code="city-psb"),
    )  # fmt: skip
    with django_assert_max_num_queries(baseline):
        client.get("/counter/")


@pytest.mark.browser
@pytest.mark.slow
def test_a_clerk_picks_the_bundle_from_the_list_and_files_it_in_chromium(
    live_server, demo_data, browser_page, tmp_path
):
    """The keyboard journey: the bundle is listed apart in the picker, its one form is filed, the
    done page names every member case; each page passes axe."""
    from playwright.sync_api import expect

    from .factories import PASSWORD
    from .support.browser import axe_problems

    StaffMembershipFactory(
        department=Department.objects.get(code="city-psb"), role=Role.COUNTER_CLERK,
        user__username="clerk-yjs",
    )  # fmt: skip
    page, keys = browser_page, browser_page.keyboard
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "clerk-yjs")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    page.goto(f"{base}/counter/")
    expect(page.locator("#id_id_number")).to_be_focused()
    keys.type(WALK_IN["id_number"])
    with page.expect_navigation():
        keys.press("Enter")
    keys.type(WALK_IN["real_name"])
    keys.press("Tab")
    keys.type(WALK_IN["phone"])
    keys.press("Tab")
    keys.type("出生")
    bundle_option = page.locator("#service-options .picker-bundle")
    expect(bundle_option).to_have_count(1)
    expect(bundle_option).to_contain_text(BIRTH["code"])
    # Listed apart: after every service that fits.
    options = page.locator("#service-options [role=option]")
    assert options.last.get_attribute("data-code") == BIRTH["code"]
    page.screenshot(path=str(tmp_path / "picker.png"))
    for _option in range(options.count()):
        keys.press("ArrowDown")
    keys.press("Enter")
    expect(page.locator("#id_service")).to_have_value("出生一件事")
    with page.expect_navigation():
        page.click("button[name=continue]")
    page.wait_for_url("**/counter/bundle/")
    problems = axe_problems(page, "bundle form")
    page.fill("[name=child_name]", BIRTH_ANSWERS["child_name"])
    page.check("[name=child_sex][value=female]")
    page.fill("[name=birth_date]", BIRTH_ANSWERS["birth_date"])
    page.check("[name=consent]")
    for name, value in BIRTH_ANSWERS["birth"].items():
        field = page.locator(f"[name='birth-{name}']")
        if field.first.get_attribute("type") == "radio":
            page.check(f"[name='birth-{name}'][value='{value}']")
        elif field.first.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    for key in ("insurance", "card"):
        for name, value in BIRTH_ANSWERS[key].items():
            field = page.locator(f"[name='{key}-{name}']")
            if field.first.get_attribute("type") == "radio":
                page.check(f"[name='{key}-{name}'][value='{value}']")
            else:
                field.select_option(value)
    certificate = bundles.combined_materials(Bundle.objects.get(code=BIRTH["code"]))[0]
    assert certificate["name"] == CERTIFICATE
    page.check(f"input[name=received][value='{certificate['id']}']")
    page.fill("#id_counter-queue_ticket", "B040")
    page.screenshot(path=str(tmp_path / "bundle-form.png"), full_page=True)
    with page.expect_navigation():
        page.click("main form.wide button[type=submit]")
    page.wait_for_url("**/counter/bundle/done/**")
    problems += axe_problems(page, "bundle done")
    page.screenshot(path=str(tmp_path / "bundle-done.png"), full_page=True)
    number = page.locator("#bundle-number").inner_text().strip()
    application = BundleApplication.objects.get(number=number)
    for link in application.member_cases.select_related("case"):
        if link.case is not None:
            expect(page.locator("table.bundle-members")).to_contain_text(link.case.number)
            assert link.case.queue_ticket == "B040"
    with page.expect_navigation():
        page.click(f"a[href$='/counter/bundle/done/{number}/receipt/']")
    expect(page.locator("#bundle-number")).to_have_text(number)
    problems += axe_problems(page, "bundle receipt")
    assert problems == []
