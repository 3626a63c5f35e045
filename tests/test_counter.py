"""Counter intake (issue 8, first part): lookup by ID number, walk-in registration, filing through
the engine with channel `counter`, same-day acceptance, claiming counter cases online."""

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts import crypto
from accounts.identity import enter_in_demo_register
from accounts.models import CitizenProfile, Role, User
from cases.models import Case, Notification

from .factories import (
    PASSWORD,
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    id_number_for,
    make_service,
)
from .support.broker import broker_down
from .support.sms import code_sent_to, register, send_code

WALK_IN = {"id_number": id_number_for(801), "real_name": "王大爷", "phone": "13512345678"}


@pytest.fixture
def counter(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr")
    service = make_service(
        "C-1", department=department,
        materials=[{"name": "申请书", "required": True}, {"name": "照片", "required": False}],
    ).service  # fmt: skip
    clerk = StaffMembershipFactory(
        department=department, role=Role.COUNTER_CLERK, user__username="clerk"
    ).user
    client = Client()
    client.force_login(clerk)
    return {"service": service, "clerk": clerk, "client": client, "department": department}


def file(client, service, **changes):
    body = {
        "citizen": WALK_IN,
        "service": service.code,
        "data": {"shop_area": 12},
        "materials_received": [service.current_version.materials.get(required=True).pk],
        **changes,
    }
    return client.post("/api/v1/counter/applications/", body, content_type="application/json")


@pytest.mark.django_db
def test_lookup_is_exact_and_never_reveals_the_full_number(counter):
    existing = CitizenProfileFactory(id_number=id_number_for(802), real_name="李四")
    client = counter["client"]
    found = client.post("/api/v1/counter/citizens/lookup/", {"id_number": existing.id_number})
    body = found.json()
    assert body["found"] is True and body["citizen"]["real_name"] == "李四"
    assert existing.id_number not in found.content.decode()
    assert body["citizen"]["id_number"] == existing.masked_id_number
    # Another person's number never matches; one that is no ID number (a wrong digit, a prefix)
    # is refused with what is wrong in it, and matches no one either.
    other = client.post("/api/v1/counter/citizens/lookup/", {"id_number": id_number_for(803)})
    assert other.json() == {"found": False, "citizen": None}
    last = existing.id_number[-1]
    for wrong in (existing.id_number[:-1] + ("1" if last == "0" else "0"), existing.id_number[:10]):
        refused = client.post("/api/v1/counter/citizens/lookup/", {"id_number": wrong})
        assert refused.status_code == 400 and refused.json()["errors"]["id_number"]
        assert "citizen" not in refused.json()


@pytest.mark.django_db
def test_a_walk_in_citizen_is_registered_once_and_the_case_filed_at_the_counter(counter):
    response = file(counter["client"], counter["service"], queue_ticket="A017")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "submitted" and response.json()["channel"] == "counter"
    again = file(counter["client"], counter["service"])
    assert again.status_code == 201
    assert CitizenProfile.objects.filter(real_name="王大爷").count() == 1
    profile = CitizenProfile.objects.get(real_name="王大爷")
    assert profile.user is None and profile.registered_at_counter
    case = Case.objects.get(number=response.json()["number"])
    assert (case.applicant, case.filed_by, case.queue_ticket) == (profile, counter["clerk"], "A017")
    # Without an account the citizen is told by text message.
    assert Notification.objects.filter(case=case, channel="sms", person=profile).exists()


@pytest.mark.django_db
def test_a_name_that_does_not_match_the_id_number_on_file_is_refused(counter):
    file(counter["client"], counter["service"])
    before = Case.objects.count()
    response = file(
        counter["client"], counter["service"], citizen={**WALK_IN, "real_name": "王小二"}
    )
    assert response.status_code == 400
    assert "real_name" in response.json()["errors"]
    assert Case.objects.count() == before


@pytest.mark.django_db
def test_missing_paper_material_and_bad_input_are_refused_whole(counter):
    before = (Case.objects.count(), CitizenProfile.objects.count())
    missing = file(counter["client"], counter["service"], materials_received=[])
    assert missing.status_code == 400 and "materials" in missing.json()["errors"]
    bad_id = file(counter["client"], counter["service"], citizen={**WALK_IN, "id_number": "110105"})
    assert bad_id.status_code == 400 and "id_number" in bad_id.json()["errors"]
    assert (Case.objects.count(), CitizenProfile.objects.count()) == before


@pytest.mark.django_db
def test_same_day_acceptance_only_for_a_clerk_who_may_accept(counter):
    response = file(counter["client"], counter["service"], accept=True)
    assert (
        response.json()["state"] == "accepted"
    )  # the standard workflow lets counter clerks accept
    other_clerk = StaffMembershipFactory(role=Role.COUNTER_CLERK).user  # another department
    client = Client()
    client.force_login(other_clerk)
    queued = file(client, counter["service"], accept=True)
    assert queued.json()["state"] == "submitted"  # goes to the department's queue instead


@pytest.mark.django_db
def test_only_clerks_use_the_counter(counter):
    citizen = Client()
    citizen.force_login(CitizenProfileFactory().user)
    assert file(citizen, counter["service"]).status_code == 403
    assert (
        citizen.post(
            "/api/v1/counter/citizens/lookup/", {"id_number": WALK_IN["id_number"]}
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_counter_intake_works_while_the_broker_is_down(counter):
    with broker_down():
        response = file(counter["client"], counter["service"])
    assert response.status_code == 201
    assert Notification.objects.filter(
        case__number=response.json()["number"], state="pending"
    ).exists()


@pytest.mark.django_db
def test_the_right_citizen_claims_their_counter_cases_online(counter):
    number = file(counter["client"], counter["service"]).json()["number"]
    enter_in_demo_register(**WALK_IN)
    impostor = Client()

    def attempt(code, **changes):
        body = {"username": "fake", "password": PASSWORD, **WALK_IN, "sms_code": code, **changes}
        return impostor.post("/api/v1/auth/register/", body, content_type="application/json")

    # Number, name and phone are not enough: the code goes to the phone the counter recorded.
    send_code(impostor, WALK_IN["phone"])
    guessed = attempt("123456" if code_sent_to(WALK_IN["phone"]) != "123456" else "654321")
    assert guessed.status_code == 400 and "sms_code" in guessed.json()["errors"]
    # A phone of one's own, with its code, is not the one the register holds for 王大爷.
    own_phone = attempt(send_code(impostor, "13900000000"), phone="13900000000")
    assert own_phone.status_code == 400 and "phone" in own_phone.json()["errors"]
    wrong_name = attempt(
        send_code(impostor, "13900000001"), phone="13900000001", real_name="冒名者"
    )
    assert wrong_name.status_code == 400 and "real_name" in wrong_name.json()["errors"]
    assert CitizenProfile.objects.get(real_name="王大爷").user is None
    citizen = Client()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):  # a code a minute
        claimed = register(citizen, username="wangdaye", password=PASSWORD, **WALK_IN)
    assert claimed.status_code == 201, claimed.json()
    assert CitizenProfile.objects.get(real_name="王大爷").is_verified
    assert CitizenProfile.objects.filter(real_name="王大爷").count() == 1
    citizen.force_login(User.objects.get(username="wangdaye"))
    mine = citizen.get("/api/v1/applications/").json()["results"]
    assert [c["number"] for c in mine] == [number]
    timeline = citizen.get(f"/api/v1/applications/{number}/").json()["timeline"]
    assert [e["action"] for e in timeline] == ["create", "submit"]
    # The clerk who filed it does not keep it among their own applications.
    assert counter["client"].get("/api/v1/applications/").json()["results"] == []


@pytest.mark.django_db
def test_result_handover_at_the_counter(counter):
    from cases import workflow

    number = file(counter["client"], counter["service"], accept=True).json()["number"]
    case = Case.objects.get(number=number)
    department = counter["department"]
    reviewer = StaffMembershipFactory(department=department, role=Role.REVIEWER).user
    approver = StaffMembershipFactory(department=department, role=Role.APPROVER).user
    case = workflow.apply_transition(case=case, name="pass_review", actor=reviewer, opinion="符合")
    case = workflow.apply_transition(case=case, name="approve", actor=approver, opinion="准予")
    client = counter["client"]
    listed = client.post("/counter/pickup/", {"id_number": WALK_IN["id_number"]}).content.decode()
    assert number in listed and WALK_IN["id_number"] not in listed
    # The hand-over forms carry only the case: the number typed stays in the session.
    unchecked = client.post("/counter/pickup/", {"hand_over": number, "collected_by": "王大爷"})
    assert unchecked.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "approved"
    client.post(
        "/counter/pickup/",
        {
            "hand_over": number,
            "collected_by": "王小明（子）",
            "identity_checked": "on",
        },
    )
    case.refresh_from_db()
    assert case.state == "concluded"
    last = case.events.order_by("-sequence").first()
    assert (last.action, last.details["collected_by"]) == ("conclude", "王小明（子）")


@pytest.mark.django_db
def test_clerks_see_a_banner_when_messages_are_delayed(counter):
    from django.core.cache import cache

    cache.delete("portal:broker-up")
    assert (
        "notification service is unreachable"
        not in counter["client"].get("/counter/").content.decode()
    )
    cache.delete("portal:broker-up")
    counter["client"].cookies["django_language"] = "en"
    with broker_down():
        page = counter["client"].get("/counter/").content.decode()
    assert "notification service is unreachable" in page
    cache.delete("portal:broker-up")


# --- The desk and the application page (issue 15, item 8) -------------------------------------------


def desk(client, **data):
    return client.post("/counter/", data)


@pytest.fixture
def catalog(counter):
    """Services a clerk finds by name, code or alias (the version's keywords)."""
    department = counter["department"]
    for code, name, name_en, keywords in [
        ("C-2", "老年人优待证办理", "Senior citizen card", "老年卡 优待证"),
        ("C-3", "个体工商户设立登记", "Register a sole trader", "个体户 开店"),
        ("C-4", "个体工商户注销登记", "Deregister a sole trader", "个体户 关店"),
    ]:
        make_service(code, department=department, name=name, name_en=name_en, keywords=keywords)
    return counter


@pytest.mark.django_db
def test_the_desk_refuses_a_mistyped_number_at_lookup_beside_the_field(counter):
    mistyped = WALK_IN["id_number"][:-1] + ("1" if WALK_IN["id_number"][-1] == "0" else "0")
    response = desk(counter["client"], id_number=mistyped, lookup="1")
    assert response.status_code == 400
    page = response.content.decode()
    assert "校验码" in " ".join(response.context["form"].errors["id_number"])
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert f'value="{mistyped}"' in page  # kept, to be corrected where it stands
    assert 'name="real_name"' not in page and 'name="continue"' not in page  # nothing else yet
    assert page.count("<title>错误：")


@pytest.mark.django_db
def test_a_corrected_number_is_looked_up_again_and_nothing_typed_is_lost(counter):
    client = counter["client"]
    first = id_number_for(804)
    looked_up = desk(client, id_number=first, lookup="1")
    assert looked_up.status_code == 200
    assert 'name="real_name"' in looked_up.content.decode()  # not on file: name and phone asked
    # The clerk notices a wrong digit, corrects the number and presses Enter (continue).
    on_file = CitizenProfileFactory(id_number=id_number_for(805), real_name="孙八")
    typed = {"real_name": "王大爷", "phone": "13512345678", "service": "C-1"}
    again = desk(client, id_number=on_file.id_number, looked_up=first, **typed, **{"continue": "1"})
    assert again.status_code == 200  # looked up again, not filed
    page = again.content.decode()
    assert "已找到：孙八" in page and 'value="C-1"' in page
    assert f'name="looked_up" value="{on_file.id_number}"' in page
    # Corrected back to the new citizen: the name and phone typed are still there.
    back = desk(client, id_number=first, looked_up=on_file.id_number, **typed,
                **{"continue": "1"})  # fmt: skip
    assert (
        'value="王大爷"' in back.content.decode() and 'value="13512345678"' in back.content.decode()
    )
    done = desk(client, id_number=first, looked_up=first, **typed, **{"continue": "1"})
    assert done.status_code == 302 and done["Location"] == "/counter/apply/"
    # Kept for the next step encrypted: the session row holds neither the number nor the phone.
    kept = client.session["counter_citizen"]
    assert json.loads(crypto.decrypt(kept)) == {
        "id_number": first, "real_name": "王大爷", "phone": "13512345678"}  # fmt: skip
    assert client.session["counter_service"] == "C-1"
    stored = json.dumps(Session.objects.get(session_key=client.session.session_key).get_decoded())
    assert first not in stored and "13512345678" not in stored


@pytest.mark.django_db
def test_a_bad_phone_is_refused_at_the_desk_beside_the_field_with_everything_kept(counter):
    client = counter["client"]
    number = WALK_IN["id_number"]
    response = desk(client, id_number=number, looked_up=number, real_name="王大爷",
                    phone="1351234567", service="C-1", **{"continue": "1"})  # fmt: skip
    assert response.status_code == 400
    assert "11 位" in " ".join(response.context["form"].errors["phone"])
    page = response.content.decode()
    for kept in ('value="王大爷"', 'value="1351234567"', 'value="C-1"', f'value="{number}"'):
        assert kept in page
    missing = desk(client, id_number=number, looked_up=number, service="C-1", **{"continue": "1"})
    assert set(missing.context["form"].errors) == {"real_name", "phone"}  # all at once


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "code"),
    [("老年人优待证办理", "C-2"), ("c-2", "C-2"), (" C-2 ", "C-2"), ("老年卡", "C-2"),
     ("开店", "C-3"), ("senior citizen card", "C-2")],
    ids=["exact Chinese name", "code in small letters", "code with spaces", "alias", "alias 2",
         "English name"],
)  # fmt: skip
def test_the_service_is_chosen_by_its_name_code_or_alias(catalog, typed, code):
    client = catalog["client"]
    number = WALK_IN["id_number"]
    response = desk(client, id_number=number, looked_up=number, real_name="王大爷",
                    phone="13512345678", service=typed, **{"continue": "1"})  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    assert client.session["counter_service"] == code


@pytest.mark.django_db
def test_words_that_fit_several_services_offer_them_to_choose_from(catalog):
    client = catalog["client"]
    number = WALK_IN["id_number"]
    typed = {"id_number": number, "looked_up": number, "real_name": "王大爷",
             "phone": "13512345678", "continue": "1"}  # fmt: skip
    several = desk(client, **typed, service="个体户")
    assert several.status_code == 400
    page = several.content.decode()
    assert "“个体户”对应 2 个事项" in page
    assert 'type="radio" name="service_choice" value="C-3"' in page
    assert 'type="radio" name="service_choice" value="C-4"' in page
    assert 'value="个体户"' in page  # what was typed stays
    chosen = desk(client, **typed, service="个体户", service_choice="C-4")
    assert chosen.status_code == 302 and client.session["counter_service"] == "C-4"
    part = desk(client, **typed, service="优待")  # part of a name: offered, never guessed
    assert part.status_code == 400 and 'value="C-2"' in part.content.decode()
    unknown = desk(client, **typed, service="办护照")
    assert "本窗口没有叫“办护照”的事项" in unknown.content.decode()
    assert 'value="办护照"' in unknown.content.decode()
    # The list the page's script searches: every counter service, with its words.
    choices = {c["code"]: c for c in unknown.context["choices"]}
    assert choices["C-2"]["aliases"] == ["老年卡", "优待证"]
    assert "老年人优待证办理" in choices["C-2"]["words"]


def walk_in_at_the_apply_page(client, service="C-1"):
    number = WALK_IN["id_number"]
    response = desk(client, id_number=number, looked_up=number, real_name="王大爷",
                    phone=WALK_IN["phone"], service=service, **{"continue": "1"})  # fmt: skip
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_mistyped_number_and_phone_are_corrected_on_the_application_page(counter):
    client = counter["client"]
    walk_in_at_the_apply_page(client)
    page = client.get("/counter/apply/").content.decode()
    assert 'name="citizen-id_number"' in page and f'value="{WALK_IN["id_number"]}"' in page
    required = counter["service"].current_version.materials.get(required=True)
    corrected = {"id_number": id_number_for(806), "phone": "13987654321"}
    filed = client.post("/counter/apply/", {
        "citizen-id_number": corrected["id_number"], "citizen-real_name": "王大爷",
        "citizen-phone": corrected["phone"], "shop_area": "20", "received": [str(required.pk)],
        "counter-queue_ticket": "A018",
    })  # fmt: skip
    assert filed.status_code == 302, filed.context["form"].errors
    case = Case.objects.get()
    assert case.applicant.id_number == corrected["id_number"]
    assert case.applicant.phone == corrected["phone"] and case.queue_ticket == "A018"
    assert CitizenProfile.objects.count() == 1  # the mistyped number registered no one


@pytest.mark.django_db
def test_every_value_ticket_and_tick_are_kept_when_the_application_page_refuses(counter):
    client = counter["client"]
    walk_in_at_the_apply_page(client)
    required = counter["service"].current_version.materials.get(required=True)
    typed = {
        "citizen-id_number": WALK_IN["id_number"][:-1] + "Y",  # a correction gone wrong
        "citizen-real_name": "王大爷", "citizen-phone": "13512345679",
        "shop_area": "25", "received": [str(required.pk)],
        "agent-real_name": "王小明", "agent-phone": "13600000001", "agent-relationship": "child",
        "counter-queue_ticket": "B032", "counter-accept": "on",
    }  # fmt: skip
    refused = client.post("/counter/apply/", typed)
    assert refused.status_code == 400
    form = refused.context["form"]
    assert "请核对第 18 位" in " ".join(form.errors["citizen-id_number"])
    assert "代办人" in " ".join(form.errors["agent-id_number"])  # a proxy needs their number
    page = refused.content.decode()
    for kept in ('value="25"', 'value="王小明"', 'value="13600000001"', 'value="B032"',
                 'value="13512345679"', f'value="{typed["citizen-id_number"]}"'):  # fmt: skip
        assert kept in page, kept
    assert 'name="counter-accept" id="id_counter-accept" checked' in page
    assert f'name="received" value="{required.pk}" checked' in page
    assert '<option value="child" selected>' in page
    assert '<details class="correction" open>' in page
    # Refused by the filing itself (no paper material ticked): still nothing lost.
    typed |= {"citizen-id_number": WALK_IN["id_number"], "agent-real_name": "", "agent-phone": "",
              "agent-relationship": "", "received": []}  # fmt: skip
    missing = client.post("/counter/apply/", typed)
    assert missing.status_code == 400 and not Case.objects.exists()
    page = missing.content.decode()
    assert 'value="B032"' in page and 'name="counter-accept" id="id_counter-accept" checked' in page
    assert 'value="25"' in page
    typed["received"] = [str(required.pk)]
    filed = client.post("/counter/apply/", typed)
    assert filed.status_code == 302
    case = Case.objects.get()
    assert (case.queue_ticket, case.state, case.applicant.phone) == (
        "B032",
        "accepted",
        "13512345679",
    )


@pytest.mark.django_db
def test_result_handover_refuses_a_mistyped_number_beside_the_field(counter):
    response = counter["client"].post("/counter/pickup/", {"id_number": "11010519491231002"})
    assert response.status_code == 400
    assert "这里是 17 位" in " ".join(response.context["lookup"].errors["id_number"])
    assert 'aria-invalid="true"' in response.content.decode()


@pytest.mark.django_db
def test_one_more_entry_in_a_list_keeps_everything_and_files_nothing(counter):
    make_service("C-5", department=counter["department"], form_schema={
        "type": "object", "required": ["shop_area"],
        "properties": {
            "shop_area": {"type": "number", "minimum": 1, "title": "经营面积"},
            "staff": {"type": "array", "title": "从业人员", "items": {
                "type": "object", "properties": {"name": {"type": "string", "title": "姓名"}}}},
        },
    })  # fmt: skip
    client = counter["client"]
    walk_in_at_the_apply_page(client, service="C-5")
    response = client.post("/counter/apply/", {
        "shop_area": "", "staff__0__name": "李工", "_add_row": "staff",
        "counter-queue_ticket": "C007", "counter-accept": "on",
    })  # fmt: skip
    assert response.status_code == 200 and not Case.objects.exists()
    page = response.content.decode()
    assert 'value="李工"' in page and 'name="staff__1__name"' in page
    assert 'value="C007"' in page and 'id="id_counter-accept" checked' in page
    assert "error-summary" not in page  # nothing judged yet: one more entry was asked for


@pytest.mark.django_db
def test_at_the_counter_a_signed_commitment_and_a_material_to_follow(counter):
    """容缺 and 告知承诺 at the counter: the clerk ticks the commitment the citizen signs, the
    material it covers is not collected, a tolerable one may follow, and the done page says by when."""
    from cases import workflow

    make_service(
        "C-2", department=counter["department"], allows_tolerance=True, allows_commitment=True,
        commitment_text="本人承诺：符合许可条件，所填信息真实。",
        materials=[{"name": "申请书", "source": "form"},
                   {"name": "场所证明", "tolerable": True},
                   {"name": "设备清单", "covered_by_commitment": True}],
    )  # fmt: skip
    client = counter["client"]
    walk_in_at_the_apply_page(client, service="C-2")
    page = client.get("/counter/apply/").content.decode()
    assert "本人承诺：符合许可条件" in page and 'name="counter-commitment"' in page
    assert (
        'value="申请书"' not in page and ">申请书" not in page
    )  # made from the form: not collected
    without = client.post("/counter/apply/", {"shop_area": "20"})
    assert without.status_code == 400  # neither signed nor the 设备清单 handed over
    assert "设备清单" in without.content.decode()
    filed = client.post("/counter/apply/", {"shop_area": "20", "counter-commitment": "on"})
    assert filed.status_code == 302, filed.content.decode()[-2000:]
    case = Case.objects.get(service__code="C-2")
    assert case.commitment_signed_at is not None
    signed = case.events.get(action="commitment_signed")
    assert signed.actor == counter["clerk"] and signed.actor_role == Role.COUNTER_CLERK
    assert [m.name for m in workflow.owed_materials(case)] == ["场所证明"]
    done = client.get(filed["Location"]).content.decode()
    assert "场所证明" in done and case.materials_owed_by.isoformat() in done
