"""The articles of law a service is decided under (issue 16, item 3, the admin and catalog side):
kept in Django admin and the designer without a new version, carried by the exchange format, shown
in the guide and its API in the reader's language; departments name their review body and court;
the demo city has both."""

import json

import pytest
from django.core.management import call_command

from accounts.models import Department, Role
from accounts.permissions import ensure_department_admin_group
from cases.decisions import rights_for
from services.models import LegalArticle, ServiceItem, ServiceVersion

from .factories import DepartmentFactory, StaffMembershipFactory, logged_in, make_service
from .test_admin_scope import errors_of, form_data

pytestmark = pytest.mark.django_db

GRANT = {
    "law": "《中华人民共和国行政许可法》", "law_en": "Administrative Licensing Law",
    "article": "第三十八条第一款", "article_en": "Article 38(1)",
    "text": "申请人的申请符合法定条件、标准的，行政机关应当依法作出准予行政许可的书面决定。",
    "text_en": "Where an application meets the statutory conditions and standards, the licence is "
               "granted in writing.",
}  # fmt: skip
REFUSE = {
    "law": "《中华人民共和国行政许可法》", "law_en": "Administrative Licensing Law",
    "article": "第三十八条第二款", "article_en": "Article 38(2)",
    "text": "行政机关依法作出不予行政许可的书面决定的，应当说明理由，并告知申请人享有依法申请行政复议或者提起行政诉讼的权利。",
    "text_en": "A refusal states its reasons and the applicant's rights of review and litigation.",
}  # fmt: skip


@pytest.fixture
def amr(db):
    return DepartmentFactory(code="amr", name="市场监督管理局", name_en="Market Regulation")


@pytest.fixture
def admin(amr):
    user = StaffMembershipFactory(
        department=amr, role=Role.DEPARTMENT_ADMIN, user__username="amr-admin",
        user__is_staff=True,
    ).user  # fmt: skip
    user.groups.add(ensure_department_admin_group())
    return user


@pytest.fixture
def service(amr):
    return make_service("AMR-FOOD", department=amr, name="食品经营许可").service


def _add(service, **fields):
    return LegalArticle.objects.create(service=service, **fields)


# --- Django admin ------------------------------------------------------------------------------


def test_the_service_admin_keeps_articles_inline_and_names_a_duplicate(admin, service, amr):
    client = logged_in(admin)
    url = f"/admin/services/serviceitem/{service.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="articles-TOTAL_FORMS"' in html
    assert "no new version" in html or "无需新版本" in html  # the help text says why
    data = form_data(page)
    data.update({"articles-TOTAL_FORMS": "2", "articles-0-order": "10", "articles-0-is_active": "on",
                 "articles-1-order": "20", "articles-1-is_active": "on"})  # fmt: skip
    data.update({f"articles-0-{k}": v for k, v in GRANT.items()})
    data.update({f"articles-1-{k}": v for k, v in REFUSE.items()})
    saved = client.post(url, data)
    assert saved.status_code == 302, errors_of(saved)
    assert list(service.articles.values_list("article", flat=True)) == ["第三十八条第一款",
                                                                         "第三十八条第二款"]  # fmt: skip
    assert service.versions.count() == 1  # no new version for it

    # The same law and article again is refused with a message, not a database error.
    again = form_data(client.get(url))
    again.update({"articles-TOTAL_FORMS": "3", "articles-2-order": "30"})
    again.update({f"articles-2-{k}": v for k, v in GRANT.items()})
    refused = client.post(url, again)
    assert refused.status_code == 200
    assert errors_of(refused)
    assert service.articles.count() == 2

    # Another department's service is not theirs to open.
    other = make_service("PSB-1", department=DepartmentFactory(code="psb")).service
    assert client.get(f"/admin/services/serviceitem/{other.pk}/change/").status_code == 404


def test_a_department_admin_names_their_review_body_and_court_and_nothing_else(admin, amr):
    client = logged_in(admin)
    url = f"/admin/accounts/department/{amr.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Review and litigation" in html or "行政复议和诉讼" in html
    data = form_data(page)
    data.update({"review_body": "示范市人民政府", "review_body_en": "Demo City People's Government",
                 "court": "示范市滨江区人民法院", "court_en": "Binjiang District People's Court",
                 "name": "改名"})  # fmt: skip
    assert client.post(url, data).status_code == 302
    amr.refresh_from_db()
    assert (amr.review_body, amr.court, amr.name) == ("示范市人民政府", "示范市滨江区人民法院",
                                                      "市场监督管理局")  # fmt: skip
    rights = rights_for(amr)
    assert (rights["review_body"], rights["court_en"]) == (
        "示范市人民政府",
        "Binjiang District People's Court",
    )
    # Another department's settings are theirs to see, not to change.
    psb = DepartmentFactory(code="psb", name="公安局")
    assert (
        client.post(
            f"/admin/accounts/department/{psb.pk}/change/", {**data, "code": "psb"}
        ).status_code
        == 403
    )
    psb.refresh_from_db()
    assert psb.review_body == ""


# --- The designer ------------------------------------------------------------------------------


def _rows(page) -> dict:
    """The article rows as a browser posts them back."""
    formset = page.context["formset"]
    management = formset.management_form
    data = {management.add_prefix(name): management[name].value() for name in management.fields}
    for form in formset.forms:
        for bound in form:
            value = bound.value()
            if bound.widget_type == "checkbox":
                if value:
                    data[bound.html_name] = "on"
            elif value not in (None, ""):
                data[bound.html_name] = value
    return data


def test_the_designer_adds_edits_reorders_and_deactivates_articles(admin, service):
    client = logged_in(admin)
    url = f"/manage/{service.code}/articles/"
    overview = client.get(f"/manage/{service.code}/").content.decode()
    assert url in overview  # the overview links to it, with or without a draft
    page = client.get(url)
    assert page.status_code == 200
    assert "no new version" in page.content.decode() or "无需新版本" in page.content.decode()

    data = _rows(page)
    data.update({f"a-0-{k}": v for k, v in GRANT.items()})
    data["add"] = "1"
    added = client.post(url, data)
    assert added.status_code == 302 and added["Location"] == url
    data = _rows(client.get(url))
    data.update({f"a-1-{k}": v for k, v in REFUSE.items()})
    assert client.post(url, data).status_code == 302
    grant, refuse = service.articles.order_by("order")
    assert (grant.article, refuse.article) == ("第三十八条第一款", "第三十八条第二款")
    assert grant.order < refuse.order and grant.is_active

    # Edit the text, put the refusal first, and stop offering the grant.
    data = _rows(client.get(url))
    data.update({"a-0-text_en": "Granted in writing.", "a-0-order": "50", "a-1-order": "5"})
    del data["a-0-is_active"]
    assert client.post(url, data).status_code == 302
    grant.refresh_from_db()
    assert (grant.text_en, grant.is_active, grant.order) == ("Granted in writing.", False, 50)
    assert [a.article for a in service.articles.order_by("order", "pk")] == [
        "第三十八条第二款", "第三十八条第一款",
    ]  # fmt: skip
    listed = client.get(url).content.decode()
    assert listed.index("第三十八条第二款") < listed.index("第三十八条第一款")
    assert ServiceVersion.objects.filter(service=service).count() == 1  # no new version

    # The same article twice: the page says so on the article field, nothing is saved.
    data = _rows(client.get(url))
    data.update({f"a-2-{k}": v for k, v in REFUSE.items()})
    refused = client.post(url, data)
    assert refused.status_code == 400
    form = refused.context["formset"].forms[2]
    assert "第三十八条第二款" in " ".join(form.errors["article"])
    assert "第三十八条第二款" in refused.content.decode()
    assert service.articles.count() == 2
    # A missing text is said on its field too.
    data = _rows(client.get(url))
    data.update({"a-2-law": "《个体工商户条例》", "a-2-article": "第八条"})
    missing = client.post(url, data)
    assert missing.status_code == 400 and "text" in missing.context["formset"].forms[2].errors


def test_the_designer_swaps_two_articles_and_keeps_others_articles_out(admin, service, amr):
    first, second = _add(service, **GRANT, order=1), _add(service, **REFUSE, order=2)
    client = logged_in(admin)
    url = f"/manage/{service.code}/articles/"
    data = _rows(client.get(url))
    data.update({"a-0-article": REFUSE["article"], "a-1-article": GRANT["article"]})
    assert client.post(url, data).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.article, second.article) == (REFUSE["article"], GRANT["article"])
    # An article of another department's service cannot be edited through this page.
    other = make_service("PSB-1", department=DepartmentFactory(code="psb")).service
    theirs = _add(other, **GRANT)
    assert client.get(f"/manage/{other.code}/articles/").status_code == 404
    data = _rows(client.get(url))
    data["a-0-id"] = str(theirs.pk)
    data["a-0-text"] = "改写"
    assert client.post(url, data).status_code == 400
    theirs.refresh_from_db()
    assert theirs.text == GRANT["text"]


# --- Export and import -------------------------------------------------------------------------


def test_export_and_import_carry_the_articles(admin, service, client):
    _add(service, **GRANT, order=1)
    _add(service, **REFUSE, order=2, is_active=False)
    client.force_login(admin)
    document = client.get(f"/api/v1/manage/services/{service.code}/export/").json()
    assert document["legal_articles"] == [
        {**{k: GRANT[k] for k in GRANT}, "active": True},
        {**{k: REFUSE[k] for k in REFUSE}, "active": False},
    ]
    created = client.post(
        "/api/v1/manage/services/?code=AMR-FOOD-2", json.dumps(document),
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert created.json()["legal_articles"] == document["legal_articles"]
    copy = ServiceItem.objects.get(code="AMR-FOOD-2")
    assert [(a.article, a.is_active) for a in copy.articles.order_by("order")] == [
        ("第三十八条第一款", True), ("第三十八条第二款", False),
    ]  # fmt: skip
    # Without the key, an import still works (documents exported before it).
    del document["legal_articles"]
    assert client.post(
        "/api/v1/manage/services/?code=AMR-FOOD-3", json.dumps(document),
        content_type="application/json",
    ).status_code == 201  # fmt: skip
    assert not ServiceItem.objects.get(code="AMR-FOOD-3").articles.exists()


def test_a_bad_list_of_articles_is_refused_naming_each_problem(admin, service, client):
    client.force_login(admin)
    document = client.get(f"/api/v1/manage/services/{service.code}/export/").json()
    document["legal_articles"] = [
        {**GRANT, "active": True},
        {"law": "《个体工商户条例》", "article": "第八条", "active": True},
        {**GRANT, "active": "yes"},
        {**REFUSE, "paragraph": 2},
    ]
    refused = client.post(
        "/api/v1/manage/services/?code=AMR-FOOD-2", json.dumps(document),
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert "legal_articles[1].text" in errors
    assert "legal_articles[2].active" in errors
    assert "legal_articles[2].article" in errors  # the same as the first
    assert "legal_articles[3].paragraph" in errors
    assert "legal_articles[0].text" not in errors
    assert not ServiceItem.objects.filter(code="AMR-FOOD-2").exists()


# --- The public guide and its API --------------------------------------------------------------


def test_the_guide_and_its_api_list_the_active_articles_in_the_readers_language(service, client):
    _add(service, **GRANT, order=2)
    _add(service, **REFUSE, order=1)
    _add(service, law="《旧条例》", article="第一条", text="已废止。", is_active=False)
    chinese = client.get(f"/api/v1/services/{service.code}/").json()["legal_articles"]
    assert [(a["law"], a["article"]) for a in chinese] == [
        ("《中华人民共和国行政许可法》", "第三十八条第二款"),
        ("《中华人民共和国行政许可法》", "第三十八条第一款"),
    ]
    assert chinese[1]["text"] == GRANT["text"] and set(chinese[0]) == {
        "id",
        "law",
        "article",
        "text",
    }
    english = client.get(
        f"/api/v1/services/{service.code}/", headers={"accept-language": "en"}
    ).json()["legal_articles"]
    assert [(a["law"], a["article"], a["text"]) for a in english][1] == (
        "Administrative Licensing Law",
        "Article 38(1)",
        GRANT["text_en"],
    )

    page = client.get(f"/services/{service.code}/").content.decode()
    basis = page[page.index('id="basis-title"') :]
    assert "第三十八条第二款" in basis and GRANT["text"] in basis and "《旧条例》" not in page
    client.cookies["django_language"] = "en"
    page = client.get(f"/services/{service.code}/").content.decode()
    assert "Article 38(1)" in page and GRANT["text_en"] in page


# --- The demo city -----------------------------------------------------------------------------


def test_every_demo_service_has_articles_and_every_department_a_review_body(settings):
    settings.DEBUG = True
    call_command("load_demo", verbosity=0)
    services = ServiceItem.objects.filter(status="published")
    assert services.count() >= 20
    for service in services:
        articles = list(service.articles.all())
        assert 2 <= len(articles) <= 4, service.code
        for article in articles:
            assert article.is_active and article.text and article.law.startswith("《")
            assert article.law_en and article.article_en and article.text_en, str(article)
    licensing = services.filter(current_version__kind="licensing")
    for service in licensing:
        assert service.articles.filter(law="《中华人民共和国行政许可法》").exists(), service.code
    for department in Department.objects.all():
        assert department.review_body and department.review_body_en, department.code
        assert department.court and department.court_en, department.code
    assert rights_for(Department.objects.get(code="city-amr"))["court"] == "示范市滨江区人民法院"
    # Loading again adds nothing.
    count = LegalArticle.objects.count()
    call_command("load_demo", verbosity=0)
    assert LegalArticle.objects.count() == count
