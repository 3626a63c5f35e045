"""Public statistics: the monthly summary computed from a known data set and checked against
figures worked out by hand, then shown the same on the page, the API and the exports, in a
constant number of queries; and one case decided through the real engine."""

import csv
import datetime as dt
import io
import json
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from cases import workflow
from cases.models import Case, MonthlyFigures, Rating, Rectification
from cases.tasks import refresh_statistics
from cases.transparency import statistics

from .factories import (
    CitizenProfileFactory,
    DepartmentFactory,
    StaffMembershipFactory,
    make_service,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)  # "this month" is June 2026


def local(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


class Data:
    """Three services in two departments, cases and ratings written straight with the ORM."""

    def __init__(self):
        self.amr = DepartmentFactory(code="amr", name="市场监督管理局", name_en="Market Regulation")
        self.edu = DepartmentFactory(code="edu", name="教育局", name_en="Education Bureau")
        self.a1 = make_service(
            "A-1", department=self.amr, name="食品经营许可", promised_limit_days=5
        )
        self.a2 = make_service(
            "A-2", department=self.amr, name="药品经营许可", promised_limit_days=10
        )
        self.b1 = make_service(
            "B-1", department=self.edu, name="教师资格认定", promised_limit_days=3
        )
        self.applicant = CitizenProfileFactory()
        self.count = 0

    def case(self, version, received, *, decided=None, days=None, on_time=None, visits=0,
             state="approved") -> Case:  # fmt: skip
        self.count += 1
        return Case.objects.create(
            number=f"T-{self.count:05d}", service=version.service, service_version=version,
            department=version.service.department, applicant=self.applicant,
            filed_by=self.applicant.user, channel="online", state=state, received_at=received,
            decided_at=decided, working_days_used=days, decided_on_time=on_time, visits=visits,
        )  # fmt: skip

    def rate(self, case, score, when, *, rectified_on_time=None) -> Rating:
        rating = Rating.objects.create(
            case=case, department=case.department, service=case.service, score=score,
            channel="online", rated_by=self.applicant.user,
        )  # fmt: skip
        Rating.objects.filter(pk=rating.pk).update(created_at=when)
        if score <= 2:
            answered = rectified_on_time is not None
            Rectification.objects.create(
                rating=rating, case=case, department=case.department, due_date=when.date(),
                state="answered" if answered else "open", answer="已回访整改" if answered else "",
                answered_at=when if answered else None, answered_on_time=rectified_on_time,
            )  # fmt: skip
        return rating


@pytest.fixture
def data(db, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    d = Data()
    # A-1 (promised 5 working days): five cases received and decided in May, working days
    # [1, 2, 2, 5, 9], on time [yes, yes, yes, yes, no], visits [0, 0, 1, 2, 0].
    may_a1 = [
        d.case(d.a1, local("2026-05-04"), decided=local("2026-05-06"), days=1, on_time=True, state="approved"),
        d.case(d.a1, local("2026-05-04"), decided=local("2026-05-07"), days=2, on_time=True, state="concluded"),
        d.case(d.a1, local("2026-05-05"), decided=local("2026-05-08"), days=2, on_time=True, visits=1, state="concluded"),
        d.case(d.a1, local("2026-05-06"), decided=local("2026-05-13"), days=5, on_time=True, visits=2, state="rejected"),
        d.case(d.a1, local("2026-05-07"), decided=local("2026-05-20"), days=9, on_time=False, state="not_accepted"),
    ]  # fmt: skip
    # Received at 23:30 on 31 May in Shanghai (15:30 UTC): May. At 00:30 on 1 June in Shanghai
    # (still 31 May in UTC): June. Both still open.
    d.case(d.a1, local("2026-05-31", 23, 30), state="accepted")
    d.case(d.a1, local("2026-06-01", 0, 30), state="accepted")
    # April: received and decided in 7 working days, late. Only a full rebuild reaches April.
    d.case(d.a1, local("2026-04-10"), decided=local("2026-04-21"), days=7, on_time=False)
    # A draft was never received: it counts nowhere.
    Case.objects.create(
        number="T-DRAFT", service=d.a1.service, service_version=d.a1, department=d.amr,
        applicant=d.applicant, filed_by=d.applicant.user, channel="online", state="draft",
    )  # fmt: skip
    # Ratings of the May cases, given in May: 5, 4, 3, 1 (rectified on time), 2 (not yet).
    for case, score in zip(may_a1, [5, 4, 3, 1, 2], strict=True):
        d.rate(case, score, local("2026-05-25"), rectified_on_time=True if score == 1 else None)
    # A-2 (promised 10): three cases received and decided in June in [4, 12, 6] working days,
    # on time [yes, no, yes], all without a visit; one rated 5 in June, two unrated.
    june_a2 = [
        d.case(d.a2, local("2026-06-01"), decided=local("2026-06-05"), days=4, on_time=True),
        d.case(d.a2, local("2026-06-01"), decided=local("2026-06-12"), days=12, on_time=False),
        d.case(d.a2, local("2026-06-02"), decided=local("2026-06-10"), days=6, on_time=True),
    ]
    d.rate(june_a2[0], 5, local("2026-06-12"))
    # B-1 (promised 3): two decided in May in 3 working days each, on time, one visit each;
    # a third received in May and withdrawn (never decided). Nobody rated them.
    d.case(d.b1, local("2026-05-11"), decided=local("2026-05-14"), days=3, on_time=True, visits=1)
    d.case(d.b1, local("2026-05-11"), decided=local("2026-05-14"), days=3, on_time=True, visits=1)
    d.case(d.b1, local("2026-05-12"), state="withdrawn")
    return d


def rows() -> dict:
    return {
        (f"{row.month:%Y-%m}", row.service.code): {
            "received": row.received, "concluded": row.concluded, "on_time": row.on_time,
            "zero_visits": row.zero_visits, "days": row.days_histogram, "ratings": row.ratings,
            "score_sum": row.score_sum, "good": row.good_ratings, "bad": row.bad_ratings,
            "rectified": row.bad_rectified_on_time, "limit": row.promised_limit_days,
            "department": row.department.code,
        }
        for row in MonthlyFigures.objects.select_related("service", "department")
    }  # fmt: skip


@pytest.mark.django_db
def test_refresh_writes_monthly_rows_computed_by_hand_and_is_idempotent(data, frozen):
    # The default refresh (what beat runs) covers May and June 2026.
    assert statistics.refresh_monthly_figures() == 4
    may_a1 = {
        "received": 6,  # five decided in May and the one received at 23:30 on 31 May
        "concluded": 5, "on_time": 4, "zero_visits": 3,  # visits [0, 0, 1, 2, 0]
        "days": {"1": 1, "2": 2, "5": 1, "9": 1},
        "ratings": 5, "score_sum": 5 + 4 + 3 + 1 + 2, "good": 2, "bad": 2, "rectified": 1,
        "limit": 5, "department": "amr",
    }  # fmt: skip
    june_a1 = {
        "received": 1, "concluded": 0, "on_time": 0, "zero_visits": 0, "days": {},
        "ratings": 0, "score_sum": 0, "good": 0, "bad": 0, "rectified": 0, "limit": 5,
        "department": "amr",
    }  # fmt: skip
    june_a2 = {
        "received": 3, "concluded": 3, "on_time": 2, "zero_visits": 3,
        "days": {"4": 1, "6": 1, "12": 1}, "ratings": 1, "score_sum": 5, "good": 1, "bad": 0,
        "rectified": 0, "limit": 10, "department": "amr",
    }  # fmt: skip
    may_b1 = {
        "received": 3, "concluded": 2, "on_time": 2, "zero_visits": 0, "days": {"3": 2},
        "ratings": 0, "score_sum": 0, "good": 0, "bad": 0, "rectified": 0, "limit": 3,
        "department": "edu",
    }  # fmt: skip
    expected = {
        ("2026-05", "A-1"): may_a1,
        ("2026-06", "A-1"): june_a1,
        ("2026-06", "A-2"): june_a2,
        ("2026-05", "B-1"): may_b1,
    }
    assert rows() == expected
    # Idempotent: again, the same rows; the full rebuild adds April and changes nothing else.
    assert statistics.refresh_monthly_figures() == 4
    assert rows() == expected
    call_command("refresh_statistics", "--all", stdout=io.StringIO())
    april_a1 = {
        "received": 1, "concluded": 1, "on_time": 0, "zero_visits": 1, "days": {"7": 1},
        "ratings": 0, "score_sum": 0, "good": 0, "bad": 0, "rectified": 0, "limit": 5,
        "department": "amr",
    }  # fmt: skip
    assert rows() == {**expected, ("2026-04", "A-1"): april_a1}
    assert MonthlyFigures.objects.count() == 5
    # A month whose cases are gone loses its row: B-1 had no ratings, its cases can be deleted.
    Case.objects.filter(service=data.b1.service).delete()
    assert refresh_statistics() == 3  # the Celery task: May and June again
    assert ("2026-05", "B-1") not in rows()
    assert ("2026-04", "A-1") in rows()  # outside the window: left as it was


@pytest.mark.django_db
def test_figures_by_department_service_and_month_match_the_hand_count(data, frozen):
    statistics.refresh_monthly_figures(statistics.ALL)
    with translation.override("en"):
        figures = statistics.public_figures(period=statistics.parse_period(""))
    assert figures["period"] == {"key": "12m", "first_month": "2025-07", "last_month": "2026-06"}
    totals = figures["totals"]
    # received: A-1 8 (April 1, May 6, June 1) + A-2 3 + B-1 3 = 14 (the draft is not counted)
    assert totals["received"] == 14
    # decided: A-1 6 (April 1, May 5) + A-2 3 + B-1 2 = 11; on time 4 + 2 + 2 = 8
    assert (totals["concluded"], totals["on_time"]) == (11, 8)
    assert totals["on_time_rate"] == round(8 / 11, 4) == 0.7273
    # all working days: [1,2,2,3,3,4,5,6,7,9,12]: median the 6th = 4; 90th percentile by nearest
    # rank: ceil(0.9 × 11) = 10th = 9
    assert (totals["median_days"], totals["p90_days"]) == (4, 9)
    # within the promised limit: A-1 (≤5) 1,2,2,5 = 4; A-2 (≤10) 4,6 = 2; B-1 (≤3) 3,3 = 2 → 8/11
    assert totals["within_limit_rate"] == 0.7273
    # zero visits: A-1 May 3 + April 1, A-2 3, B-1 0 → 7/11
    assert (totals["zero_visits"], totals["zero_visit_rate"]) == (7, round(7 / 11, 4))
    # ratings: A-1 [5,4,3,1,2] + A-2 [5] = 6, sum 20, average 20/6 = 3.33; 4–5: 3 of 6 → 0.5.
    # The five decided cases nobody rated do not count as satisfied (that would be 8/11).
    assert (totals["ratings"], totals["average_score"], totals["good_ratings"]) == (6, 3.33, 3)
    assert totals["satisfied_rate"] == 0.5
    # ratings of 1–2: two; the 1 was answered on time, the 2 is still open → 1/2
    assert (totals["bad_ratings"], totals["bad_rectified_on_time"]) == (2, 1)
    assert totals["rectified_on_time_rate"] == 0.5

    amr, edu = figures["departments"]
    assert (amr["code"], amr["label"], edu["label"]) == (
        "amr",
        "Market Regulation",
        "Education Bureau",
    )
    assert (amr["received"], amr["concluded"], amr["on_time"]) == (11, 9, 6)
    # amr's days [1,2,2,4,5,6,7,9,12]: median the 5th = 5; p90 ceil(8.1) = 9th = 12
    assert (amr["median_days"], amr["p90_days"]) == (5, 12)
    assert amr["on_time_rate"] == round(6 / 9, 4)
    assert (amr["ratings"], amr["satisfied_rate"]) == (6, 0.5)
    # edu: days [3,3]; nobody rated: no satisfaction figure at all, not 100%
    assert (edu["received"], edu["concluded"], edu["on_time_rate"]) == (3, 2, 1.0)
    assert (edu["median_days"], edu["p90_days"], edu["zero_visit_rate"]) == (3, 3, 0.0)
    assert edu["ratings"] == 0
    assert edu["satisfied_rate"] is edu["average_score"] is edu["rectified_on_time_rate"] is None

    a1, a2, b1 = figures["services"]
    assert (a1["code"], a1["promised_limit_days"], a1["department"]) == ("A-1", 5, "amr")
    # A-1 days [1,2,2,5,7,9], an even count: median (2 + 5) / 2 = 3.5; p90 ceil(5.4) = 6th = 9
    assert (a1["median_days"], a1["p90_days"]) == (3.5, 9)
    assert a1["within_limit_rate"] == round(4 / 6, 4)
    assert (a1["average_score"], a1["satisfied_rate"]) == (3.0, 0.4)  # 15/5; 2 of 5
    # A-2 days [4,6,12]: median 6; p90 ceil(2.7) = 3rd = 12; 2 of 3 within 10 days
    assert (a2["median_days"], a2["p90_days"], a2["within_limit_rate"]) == (6, 12, 0.6667)
    assert (a2["ratings"], a2["satisfied_rate"]) == (1, 1.0)  # two unrated do not count
    assert b1["satisfied_rate"] is None

    months = {m["month"]: m for m in figures["months"]}
    assert list(months) == [f"{y}-{m:02d}" for y, m in [(2025, n) for n in range(7, 13)] + [(2026, n) for n in range(1, 7)]]  # fmt: skip
    assert months["2026-03"]["received"] == 0 and months["2026-03"]["median_days"] is None
    # May: A-1 6 + B-1 3 received; decided A-1 5 + B-1 2; days [1,2,2,3,3,5,9] → median 3
    assert (months["2026-05"]["received"], months["2026-05"]["concluded"]) == (9, 7)
    assert (months["2026-05"]["on_time"], months["2026-05"]["median_days"]) == (6, 3)
    assert months["2026-06"]["received"] == 4  # the 00:30 case on 1 June and A-2's three
    assert months["2026-04"]["concluded"] == 1

    # One month, one department.
    may_edu = statistics.public_figures(period=statistics.parse_period("2026-05"), department="edu")
    assert [s["code"] for s in may_edu["services"]] == ["B-1"]
    assert may_edu["totals"]["received"] == 3
    # A year: 2025 has nothing.
    assert (
        statistics.public_figures(period=statistics.parse_period("2025"))["totals"]["received"] == 0
    )


@pytest.mark.django_db
def test_page_api_and_exports_show_the_same_figures(data, frozen):
    statistics.refresh_monthly_figures(statistics.ALL)
    client = Client()
    page = client.get("/stats/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="zh-Hans"' in html and "市场监督管理局" in html
    assert "72.7%" in html  # decided on time, 8 of 11
    assert "3.33" in html  # average score
    assert html.count('role="img"') == 2 and "<title id=" in html and "<desc id=" in html
    assert html.count("<caption") == 3 and 'scope="col"' in html and 'scope="row"' in html
    assert "<script" not in html  # server-rendered: no script, no CDN
    english = client.get("/stats/?period=2026-05&department=edu", HTTP_ACCEPT_LANGUAGE="en")
    assert "教育局" in english.content.decode()  # Chinese by default whatever the browser says

    api = client.get("/api/v1/stats/", {"period": "2026", "department": "amr"})
    assert api.status_code == 200
    body = api.json()
    assert body["period"] == {"key": "2026", "first_month": "2026-01", "last_month": "2026-12"}
    assert [d["code"] for d in body["departments"]] == ["amr"]
    assert body["totals"]["received"] == 11 and body["totals"]["median_days"] == 5
    assert [s["code"] for s in body["services"]] == ["A-1", "A-2"]
    assert body["services"][0]["name"] == "食品经营许可"
    assert len(body["months"]) == 12 and "date" not in body["months"][0]
    refused = client.get("/api/v1/stats/", {"period": "2026-13"})
    assert refused.status_code == 400 and "period" in refused.json()["errors"]
    assert client.get("/stats/?period=nonsense").status_code == 200  # falls back, says why

    exported = client.get("/stats/export.csv?period=2026")
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    assert exported["Content-Disposition"] == 'attachment; filename="stats-2026.csv"'
    raw = exported.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    by_code = {row[1]: row for row in table[1:]}
    header = table[0]
    edu = dict(zip(header[5:], by_code["edu"][5:], strict=True))
    assert by_code["edu"][2] == "教育局"
    assert edu["received"] == "3" and edu["satisfied_rate"] == ""  # no ratings: empty, not 1
    assert dict(zip(header[5:], by_code["A-1"][5:], strict=True))["median_days"] == "3.5"
    assert by_code["2026"][0] in ("合计", "total")

    as_json = client.get("/stats/export.json?department=edu")
    assert as_json["Content-Disposition"] == 'attachment; filename="stats-12m-edu.json"'
    assert json.loads(as_json.content)["totals"]["concluded"] == 2


def bulk_cases(data: Data, services: int, per_month: int) -> None:
    """More services and cases over the last 12 months, rated, for the query-count comparison."""
    versions = [
        make_service(f"X-{n}", department=data.edu, promised_limit_days=n % 7)
        for n in range(services)
    ]
    cases = []
    for version in versions:
        for month in range(12):
            day = statistics.add_months(dt.date(2025, 7, 1), month).replace(day=8)
            for n in range(per_month):
                data.count += 1
                cases.append(
                    Case(number=f"X-{data.count:06d}", service=version.service, service_version=version,
                         department=data.edu, applicant=data.applicant, filed_by=data.applicant.user,
                         channel="online", state="approved", received_at=local(str(day)),
                         decided_at=local(str(day + dt.timedelta(days=3))), working_days_used=n % 9,
                         decided_on_time=n % 4 > 0, visits=n % 2)
                )  # fmt: skip
    Case.objects.bulk_create(cases)
    Rating.objects.bulk_create(
        Rating(case=case, department=case.department, service=case.service, score=1 + n % 5,
               channel="online", created_at=case.decided_at)
        for n, case in enumerate(Case.objects.filter(number__startswith="X-"))
    )  # fmt: skip


@pytest.mark.django_db
def test_page_and_api_make_the_same_queries_for_a_small_and_a_large_data_set(data, frozen):
    client = Client()

    def queries() -> tuple[int, int, int]:
        statistics.refresh_monthly_figures(statistics.ALL)
        counts = []
        for url in ("/stats/", "/api/v1/stats/", "/stats/export.csv"):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured.captured_queries))
        return tuple(counts)

    small = queries()
    rows_before = MonthlyFigures.objects.count()
    bulk_cases(data, services=8, per_month=15)
    large = queries()
    assert MonthlyFigures.objects.count() == rows_before + 8 * 12
    assert small == large
    # Bundles (一件事) add two queries of their own to the page and the API (cases.bundles.statistics),
    # the service hall's waiting times one (cases.hall.queue.waiting_figures).
    assert small[0] <= 3 + 2 + 1 and small[1] == 1 + 2 + 1 and small[2] == 1


@pytest.mark.django_db
def test_a_case_decided_through_the_engine_lands_in_the_figures(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    department = DepartmentFactory(code="amr", name="市场监督管理局")
    staff = {
        role: StaffMembershipFactory(
            department=department, role=role, user__username=str(role)
        ).user
        for role in (Role.CASEWORKER, Role.REVIEWER, Role.APPROVER)
    }
    service = make_service(
        "E-1", department=department, promised_limit_days=5,
        materials=[{"name": "申请书", "required": False}],
    ).service  # fmt: skip
    user = CitizenProfileFactory().user
    with time_machine.travel(local("2026-11-02", 9), tick=False):  # a Monday
        case, _ = workflow.create_draft(service=service, user=user, data={"shop_area": 10})
        case = workflow.submit_application(case=case, user=user)
        case = workflow.apply_transition(case=case, name="accept", actor=staff[Role.CASEWORKER])
    with time_machine.travel(local("2026-11-05", 15), tick=False):  # Thursday
        case = workflow.apply_transition(
            case=case, name="pass_review", actor=staff[Role.REVIEWER], opinion="材料齐全"
        )
        case = workflow.apply_transition(
            case=case, name="approve", actor=staff[Role.APPROVER], opinion="准予许可"
        )
        # Accepted on 2 November, decided on the 5th: 3, 4 and 5 November are 3 working days,
        # within the 5 promised (due 9 November).
        assert (case.working_days_used, case.decided_on_time, case.visits) == (3, True, 0)
        assert statistics.refresh_monthly_figures() == 1
        figures = statistics.public_figures(period=statistics.parse_period("2026-11"))
    row = MonthlyFigures.objects.get()
    assert (row.received, row.concluded, row.on_time, row.zero_visits) == (1, 1, 1, 1)
    assert row.days_histogram == {"3": 1}
    assert figures["totals"]["median_days"] == 3 and figures["totals"]["on_time_rate"] == 1.0
    assert figures["totals"]["within_limit_rate"] == 1.0
    assert figures["totals"]["ratings"] == 0 and figures["totals"]["satisfied_rate"] is None


def test_median_and_percentile_of_merged_histograms():
    from collections import Counter

    # [1, 2, 2, 5, 9]: median 2; 90th percentile ceil(4.5) = 5th = 9
    hist = Counter({1: 1, 2: 2, 5: 1, 9: 1})
    assert (statistics.median(hist), statistics.percentile_90(hist)) == (2, 9)
    # adding [3, 4, 4, 4, 10] gives [1,2,2,3,4,4,4,5,9,10]: median (4 + 4) / 2 = 4; p90 9th = 9
    hist += Counter({3: 1, 4: 3, 10: 1})
    assert (statistics.median(hist), statistics.percentile_90(hist)) == (4, 9)
    assert statistics.median(Counter()) is None and statistics.percentile_90(Counter()) is None


def test_periods():
    today = dt.date(2026, 1, 20)
    last12 = statistics.parse_period("", today=today)
    assert (last12.first, last12.last, len(last12.months)) == (
        dt.date(2025, 2, 1),
        dt.date(2026, 1, 1),
        12,
    )
    assert statistics.parse_period("2024", today=today).months[-1] == dt.date(2024, 12, 1)
    assert statistics.parse_period("2024-02", today=today).months == [dt.date(2024, 2, 1)]
    for bad in ("2024-13", "24", "last year", "2024-2"):
        with pytest.raises(ValueError):
            statistics.parse_period(bad, today=today)


def test_the_stats_endpoint_has_a_valid_schema_without_warnings():
    """Only this endpoint: warnings of endpoints in progress elsewhere must not hide ours."""
    from django.urls import path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    from cases.transparency.stats_views import StatsView

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/stats/", StatsView.as_view())])
    schema = generator.get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "drf-spectacular warned about GET stats/"
    validate_schema(schema)
    operation = schema["paths"]["/api/v1/stats/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"period", "department"}
    figures = schema["components"]["schemas"]["FiguresOutput"]["properties"]
    assert figures["satisfied_rate"]["nullable"] is True
