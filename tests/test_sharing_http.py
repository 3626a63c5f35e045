"""The production registry adapter (cases/sharing/http.py) against a real local HTTP server: a
record found, nothing on file (404 or an empty answer), a registry down (a time-out, a 500, an answer
that is no JSON) logged as unavailable like a demo registry set to be down, the bearer token sent,
the identifiers in the body and never in a URL or a log line; and its configuration in
DATA_REGISTRIES (JSON, with DATA_REGISTRY_TOKENS) and the start-up checks."""

import datetime as dt
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import translation

from cases.models import Case, SharingRequest
from cases.sharing.registry import Person, get_registry
from cases.sharing.services import request_shared_data
from services.models import SharingGrant

from .factories import (
    SIMPLE_SCHEMA,
    CitizenProfileFactory,
    DepartmentFactory,
    id_number_for,
    logged_in,
    make_service,
)

ID_NUMBER = id_number_for(41)
NAME = "林晓"
RECORD = {"name": NAME, "address": "示范市滨江区江畔路 12 号", "status": "正常", "extra": "x"}


@pytest.fixture
def registry_service():
    """A stand-in for a department's data service: the answer depends on the path (so one
    server plays every case); it records what it was asked."""
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            asked.append({"path": self.path, "headers": dict(self.headers),
                          "body": json.loads(raw)})  # fmt: skip
            if self.path == "/slow":
                time.sleep(1.0)
            status, body = {
                "/found": (200, json.dumps({"found": True, "data": RECORD,
                                            "as_of": "2026-11-30T08:00:00+08:00"})),
                "/missing": (404, ""),
                "/empty": (200, json.dumps({"found": False})),
                "/blank": (200, ""),
                "/error": (500, "internal error"),
                "/bad": (200, "<html>gateway</html>"),
                "/list": (200, "[1, 2]"),
                "/slow": (200, json.dumps({"found": False})),
            }[self.path]  # fmt: skip
            encoded = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


def entry(base: str, path: str, **extra) -> dict:
    return {
        "class": "cases.sharing.http.HttpRegistry",
        "code": "household",
        "department_code": "city-psb",
        "name": "户籍信息",
        "name_en": "Household register",
        "fields": {"name": "姓名", "address": "户籍地址", "status": "户籍状态"},
        "url": f"{base}{path}",
        "token": "registry-token",
        "timeout": 0.3,
        **extra,
    }


@pytest.fixture
def service(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    psb = DepartmentFactory(code="city-psb", name="示范市公安局")
    version = make_service(
        "SH-HTTP", department=DepartmentFactory(code="amr"), form_schema=SIMPLE_SCHEMA,
        materials=[{"name": "户籍信息", "required": True, "source": "shared", "shared_by": psb}],
    )  # fmt: skip
    SharingGrant.objects.create(
        service=version.service, registry="household", fields=["name", "address", "status"],
        purpose="核验申请人户籍",
    )  # fmt: skip
    return version.service


def ask(service, fields=("name", "address")) -> SharingRequest:
    return request_shared_data(
        registry_code="household",
        service=service,
        person=Person(ID_NUMBER.lower(), NAME),
        fields=list(fields),
        purpose=SharingRequest.Purpose.MATERIAL,
        channel="online",
    )


def test_a_record_found_is_kept_with_the_fields_asked_for_and_the_token_sent(
    registry_service, service, settings, caplog
):
    base, asked = registry_service
    settings.DATA_REGISTRIES = [entry(base, "/found")]
    with caplog.at_level(logging.DEBUG):
        logged = ask(service)
    assert logged.outcome == "found"
    assert logged.data == {"name": NAME, "address": RECORD["address"]}  # no "extra", no status
    assert logged.as_of == dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert logged.department.code == "city-psb"
    (request,) = asked
    assert request["path"] == "/found"  # the identifiers are in the body, never in the URL
    assert request["headers"]["Authorization"] == "Bearer registry-token"
    assert request["body"] == {
        "id_number": ID_NUMBER.upper(),
        "real_name": NAME,
        "fields": ["name", "address"],
    }
    assert ID_NUMBER not in caplog.text and NAME not in caplog.text


@pytest.mark.parametrize("path", ["/missing", "/empty", "/blank"])
def test_404_or_an_empty_answer_is_nothing_on_file(registry_service, service, settings, path):
    base, _asked = registry_service
    settings.DATA_REGISTRIES = [entry(base, path)]
    logged = ask(service)
    assert (logged.outcome, logged.data, logged.as_of) == ("not_found", {}, None)


@pytest.mark.parametrize("path", ["/slow", "/error", "/bad", "/list"])
def test_a_time_out_a_5xx_or_an_answer_that_is_no_json_object_is_a_registry_down(
    registry_service, service, settings, caplog, path
):
    base, _asked = registry_service
    settings.DATA_REGISTRIES = [entry(base, path)]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        logged = ask(service)
    assert time.monotonic() - started < 0.9  # the short time-out, not the registry's second
    assert (logged.outcome, logged.data) == ("unavailable", {})
    # Reported exactly as a demo registry set to be down reports it.
    settings.DATA_REGISTRIES = ["cases.sharing.demo.HouseholdRegistry"]
    settings.DEMO_REGISTRIES_DOWN = ["household"]
    assert ask(service).outcome == logged.outcome
    # The log names the registry and what went wrong, nothing of the person.
    assert "household" in caplog.text
    assert ID_NUMBER not in caplog.text and ID_NUMBER.lower() not in caplog.text
    assert NAME not in caplog.text


def test_a_registry_that_cannot_be_reached_is_down(service, settings):
    settings.DATA_REGISTRIES = [entry("http://127.0.0.1:1", "/closed")]
    assert ask(service).outcome == "unavailable"


def test_a_submission_fetches_the_shared_material_from_the_http_registry(
    registry_service, service, settings
):
    base, asked = registry_service
    settings.DATA_REGISTRIES = [entry(base, "/found")]
    citizen = CitizenProfileFactory(real_name=NAME, id_number=ID_NUMBER)
    client = logged_in(citizen.user)
    made = client.post(
        "/api/v1/applications/", {"service": service.code, "data": {"shop_area": 20}},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    number = made.json()["number"]
    submitted = client.post(f"/api/v1/applications/{number}/submit/")
    assert submitted.status_code == 200, submitted.content
    case = Case.objects.get(number=number)
    assert case.sharing_requests.get().outcome == "found"
    assert asked and all(a["headers"]["Authorization"] == "Bearer registry-token" for a in asked)


def test_data_registries_are_read_from_json_with_the_tokens_apart(monkeypatch):
    from portal.settings import _data_registries

    described = [
        "cases.sharing.demo.MarriageRegistry",
        {"code": "household", "department_code": "city-psb", "fields": {"name": "姓名"},
         "url": "https://registry.example.gov.cn/household"},
    ]  # fmt: skip
    monkeypatch.setenv("DATA_REGISTRY_TOKENS", json.dumps({"household": "from-env"}))
    read = _data_registries(json.dumps(described))
    assert read[0] == "cases.sharing.demo.MarriageRegistry"
    assert read[1]["token"] == "from-env"
    assert _data_registries("") == []  # production's default: no registries
    assert _data_registries("a.B, c.D") == ["a.B", "c.D"]
    assert len(_data_registries(None)) == 4  # development: the demo registries
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        _data_registries("[{not json")


def test_configured_registries_are_checked_at_start_up(settings):
    from cases.sharing.checks import data_registries, demo_registries

    good = entry("https://registry.example.gov.cn", "/household")
    settings.DATA_REGISTRIES = [good]
    assert data_registries(None) == [] and demo_registries(None) == []
    with translation.override("zh-hans"):
        assert get_registry("household").label == "户籍信息"
    settings.DATA_REGISTRIES = [{**good, "url": ""}, {"class": "no.such.Registry"}]
    assert [e.id for e in data_registries(None)] == ["cases_sharing.E004", "cases_sharing.E001"]
    settings.DATA_REGISTRIES = [{**good, "timeout": "soon"}, {**good, "fields": ["name"]}]
    assert [e.id for e in data_registries(None)] == ["cases_sharing.E004"] * 2
    settings.DATA_REGISTRIES = [good, {**good, "url": "https://other.example.gov.cn"}]
    assert [e.id for e in data_registries(None)] == ["cases_sharing.E003"]
    settings.DATA_REGISTRIES = [{**good, "url": "http://registry.example.gov.cn/household"}]
    assert [w.id for w in demo_registries(None)] == ["cases_sharing.W002"]
