"""What every signed-in request asks about its account, cached per account (accounts/facts.py):
a change of roles, maintained items or messages shows on the next request, in the cache of this
process and in Redis, and with the cache down; pages and API lists cost what the framework does
(the session and the user, or the token) besides their own data."""

import os
import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.settings import CONSTANTS

from accounts.facts import access_facts
from accounts.models import ApiToken, Role, StaffMembership, User
from accounts.second_factor import is_staff_account
from accounts.tokens import issue_token
from cases import workflow
from cases.models import Case, Notification
from cases.notifications import services as notifications
from services import catalog

from .factories import DepartmentFactory, StaffMembershipFactory, make_service
from .servers import free_port

WORKBENCH_LINK = 'href="/work/"'


def _redis(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
            },
        },
        "ratelimit": django_settings.CACHES["ratelimit"],
    }


@pytest.fixture(params=["locmem", "redis", "redis-down"])
def cache_kind(request, settings):
    if request.param == "redis":
        settings.CACHES = _redis(os.environ["REDIS_URL"])
    elif request.param == "redis-down":
        settings.CACHES = _redis(f"redis://127.0.0.1:{free_port()}/0")
    from django.core.cache import cache

    cache.clear()
    return request.param


@pytest.fixture
def amr(db):
    return DepartmentFactory(code="amr", name="市场监督管理局")


@pytest.fixture
def service(amr, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return make_service("AMR-F", department=amr, materials=[{"name": "申请书", "required": False}])


def _page(client: Client, url: str = "/services/") -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _badge(page: str) -> int:
    found = re.search(r'class="badge">(\d+)', page)
    return int(found.group(1)) if found else 0


def _submit(service, user) -> Case:
    case, _created = workflow.create_draft(
        service=service.service, user=user, data={"shop_area": 4}
    )
    return workflow.submit_application(case=case, user=user)


@pytest.mark.django_db
def test_a_new_role_shows_the_workbench_at_once_and_its_removal_hides_and_denies_it(
    cache_kind, citizen, citizen_client, amr
):
    for _ in range(2):  # the second from the cache, where there is one
        assert WORKBENCH_LINK not in _page(citizen_client)
    assert citizen_client.get("/work/").status_code == 404

    membership = StaffMembership.objects.create(user=citizen, department=amr, role=Role.CASEWORKER)
    assert WORKBENCH_LINK in _page(citizen_client)
    assert citizen_client.get("/work/").status_code == 200

    membership.delete()
    assert WORKBENCH_LINK not in _page(citizen_client)
    assert citizen_client.get("/work/").status_code == 404


@pytest.mark.django_db
def test_a_role_granted_asks_for_the_second_factor_on_the_next_request(
    cache_kind, citizen, citizen_client, amr, settings
):
    settings.STAFF_2FA = True
    token, _expiry = issue_token(user=citizen, second_factor_verified=False)
    api = Client(headers={"authorization": f"Token {token}"})
    for _ in range(2):
        assert citizen_client.get("/services/").status_code == 200
        assert api.get("/api/v1/me/").status_code == 200
    StaffMembershipFactory(user=citizen, department=amr, role=Role.COUNTER_CLERK)
    response = citizen_client.get("/services/")
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]
    assert api.get("/api/v1/me/").status_code in (401, 403)
    assert not ApiToken.objects.filter(user=citizen).exists()


@pytest.mark.django_db
def test_maintaining_an_item_shows_the_designer_at_once_and_losing_it_hides_it(
    cache_kind, citizen, citizen_client, service
):
    item = service.service
    designer_link = f'href="{reverse("designer:list")}"'
    for _ in range(2):
        assert designer_link not in _page(citizen_client)
    catalog.set_maintainer(item=item, user=citizen, grant=True)
    assert designer_link in _page(citizen_client)
    catalog.set_maintainer(item=item, user=citizen, grant=False)
    assert designer_link not in _page(citizen_client)


@pytest.mark.django_db
def test_a_new_message_raises_the_unread_count_at_once_and_reading_it_lowers_it(
    cache_kind, citizen, citizen_client, service
):
    assert _badge(_page(citizen_client)) == 0
    for expected in (1, 2):
        case = _submit(service, citizen)
        pending = Notification.objects.filter(case=case, recipient=citizen, channel="inbox")
        assert _badge(_page(citizen_client)) == expected - 1  # pending: not in the inbox yet
        for row in pending:
            assert notifications.deliver(row.pk) == "sent"
        assert _badge(_page(citizen_client)) == expected
        assert _badge(_page(citizen_client)) == expected
    first = Notification.objects.filter(recipient=citizen, channel="inbox").first()
    assert citizen_client.post(f"/messages/{first.pk}/read/").status_code == 302
    assert _badge(_page(citizen_client)) == 1
    assert citizen_client.get("/api/v1/notifications/").json()["unread"] == 1


@pytest.mark.django_db
def test_an_account_saved_from_an_old_copy_keeps_its_new_stamp(citizen, amr):
    old_copy = User.objects.get(pk=citizen.pk)
    assert not access_facts(User.objects.get(pk=citizen.pk)).has_role
    StaffMembership.objects.create(user=citizen, department=amr, role=Role.CASEWORKER)
    stamp = User.objects.get(pk=citizen.pk).access_stamp
    assert stamp != old_copy.access_stamp
    old_copy.first_name = "三"
    old_copy.save()
    fresh = User.objects.get(pk=citizen.pk)
    assert (fresh.first_name, fresh.access_stamp) == ("三", stamp)
    assert is_staff_account(fresh)


@pytest.mark.django_db
def test_a_membership_moved_to_another_account_changes_both(citizen, amr):
    other = StaffMembershipFactory(department=amr, role=Role.CASEWORKER).user
    membership = other.memberships.get()
    assert access_facts(User.objects.get(pk=other.pk)).has_role
    assert not access_facts(User.objects.get(pk=citizen.pk)).has_role
    membership.user = citizen
    membership.save()
    assert not access_facts(User.objects.get(pk=other.pk)).has_role
    assert access_facts(User.objects.get(pk=citizen.pk)).roles == {Role.CASEWORKER}


# --- What a request costs ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("own_cases", [1, 12])
def test_a_signed_in_citizen_page_asks_the_session_and_the_user_only(
    citizen, citizen_client, service, own_cases, django_assert_num_queries
):
    for _ in range(own_cases):
        _submit(service, citizen)
    _page(citizen_client)
    _page(citizen_client, "/applications/")
    # The catalog's body is cached; the header's facts (roles, items, unread) too.
    with django_assert_num_queries(2):
        _page(citizen_client)
    # Besides them: the list, its count and the bundles (cases/selectors.py).
    with django_assert_num_queries(5):
        _page(citizen_client, "/applications/")


@pytest.mark.django_db
@pytest.mark.parametrize("open_cases", [1, 12])
def test_api_lists_ask_the_token_once(citizen, service, amr, open_cases, django_assert_num_queries):
    for _ in range(open_cases):
        _submit(service, citizen)
    worker = StaffMembershipFactory(department=amr, role=Role.CASEWORKER).user
    citizen_api = Client(headers={"authorization": f"Token {issue_token(user=citizen, second_factor_verified=False)[0]}"})  # fmt: skip
    worker_api = Client(headers={"authorization": f"Token {issue_token(user=worker, second_factor_verified=True)[0]}"})  # fmt: skip
    assert citizen_api.get("/api/v1/applications/").status_code == 200
    assert worker_api.get("/api/v1/work/queue/").status_code == 200
    # The token (with its user), then the count and the page.
    with django_assert_num_queries(3):
        assert len(citizen_api.get("/api/v1/applications/").json()["results"]) == open_cases
    # The token, then the page (keyset: no count).
    with django_assert_num_queries(2):
        assert len(worker_api.get("/api/v1/work/queue/").json()["results"]) == open_cases


@pytest.mark.django_db
def test_expired_tokens_are_refused_and_removed_when_the_account_signs_in_again(citizen):
    old, _expiry = issue_token(user=citizen, second_factor_verified=False)
    current, _expiry = issue_token(user=citizen, second_factor_verified=False)
    ApiToken.objects.filter(token_key=old[: CONSTANTS.TOKEN_KEY_LENGTH]).update(
        expiry=timezone.now() - timedelta(minutes=1)
    )
    old_api = Client(headers={"authorization": f"Token {old}"})
    current_api = Client(headers={"authorization": f"Token {current}"})
    assert current_api.get("/api/v1/me/").status_code == 200
    assert ApiToken.objects.filter(user=citizen).count() == 2  # no sweep of the others per request
    assert old_api.get("/api/v1/me/").status_code == 401
    assert ApiToken.objects.filter(user=citizen).count() == 1  # the expired one is gone
    ApiToken.objects.filter(user=citizen).update(expiry=timezone.now() - timedelta(minutes=1))
    issue_token(user=citizen, second_factor_verified=False)
    assert ApiToken.objects.filter(user=citizen).count() == 1
    assert current_api.get("/api/v1/me/").status_code == 401
