"""Reviewers' side of tip-offs (issue 15), on SQLite and PostgreSQL: the queue by group, a
tip turned into a survey target whose ground check flows back, dismissals, the audited reward
decision paid only against the secret, and the office's numbers (summary and /metrics).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import openpyxl
import pytest
from serve_images import photo
from sqlalchemy import select

from plantscout.serve.models import AuditEvent

LOOSE = {
    "public_limit_check": "1000/minute",
    "public_limit_tip": "1000/minute",
    "public_limit_read": "1000/minute",
    "public_limit_global": "10000/minute",
}


@pytest.fixture
def service(make_service):
    return make_service(**LOOSE)


def tip(service, secret: str, *, colour="green", seed=0, **fields) -> dict:
    files = [("photos", ("t.png", photo(colour, seed=seed), "image/png"))] if colour else None
    response = service.client.post(
        "/v1/public/tips",
        data={"secret": secret, **{k: str(v) for k, v in fields.items()}},
        files=files,
    )
    assert response.status_code == 201, response.text
    return response.json()


def status(service, code: str, secret: str) -> dict:
    response = service.client.post("/v1/public/tips/status", json={"code": code, "secret": secret})
    assert response.status_code == 200, response.text
    return response.json()


def as_reviewer(service, method: str, url: str, expect: int = 200, **kwargs) -> dict:
    headers = {**service.auth("reviewer"), **kwargs.pop("headers", {})}
    response = service.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def tip_id(service, code: str) -> str:
    groups = as_reviewer(service, "GET", "/v1/tips")["items"]
    return next(m["id"] for g in groups for m in g["members"] if m["code"] == code)


def test_triage_target_ground_check_confirmed_reward(service) -> None:
    first = tip(service, "AAAA1111BBBB", seed=1, lat=25.0400, lon=102.7000, place="菜地")
    second = tip(service, "CCCC2222DDDD", seed=2, lat=25.0402, lon=102.7001, place="同一块地")
    assert status(service, first["code"], "AAAA1111BBBB")["phase"] == "received"

    queue = as_reviewer(service, "GET", "/v1/tips", params={"triage": "new"})["items"]
    assert [(g["size"], [m["code"] for m in g["members"]]) for g in queue] == [
        (2, [first["code"], second["code"]])
    ]
    lead = queue[0]["lead"]
    assert lead["code"] == first["code"] and lead["verdict"] == "suspected"
    assert lead["contact"] is None and lead["outcome"] == "received"

    detail = as_reviewer(
        service,
        "POST",
        f"/v1/tips/{lead['id']}/target",
        json={"unit": "unit-a", "due_on": "2030-01-31", "notes": "two reports"},
        headers={"If-Match": f'"{lead["version"]}"'},
    )
    assert detail["triage"] == "targeted" and detail["outcome"] == "checking"
    assert [m["outcome"] for m in detail["group"]] == ["checking", "checking"]
    target = detail["target"]
    assert target["issuer"] == "tip-off" and target["issuer_id"] == first["code"]
    assert target["unit"] == "unit-a" and target["status"] == "open"
    # the patrol sees it as an ordinary target of its unit
    patrol = service.client.get(f"/v1/targets/{target['id']}", headers=service.auth("inspector"))
    assert patrol.status_code == 200 and patrol.json()["due_on"] == "2030-01-31"
    assert status(service, second["code"], "CCCC2222DDDD")["phase"] == "checking"

    # a stale version is refused
    stale = service.client.post(
        f"/v1/tips/{lead['id']}/dismiss",
        json={"reason": "duplicate"},
        headers={**service.auth("reviewer"), "If-Match": f'"{lead["version"]}"'},
    )
    assert stale.status_code == 412

    # a third neighbour reporting the same field joins the targeted group and its target
    third = tip(service, "EEEE3333FFFF", seed=3, lat=25.0401, lon=102.7000, place="又一条")
    assert status(service, third["code"], "EEEE3333FFFF")["phase"] == "checking"

    # ground check: an inspection linked to the target, then reviewed as cannabis
    inspection = service.file("inspector", target_id=target["id"], lat=25.04, lon=102.70)
    detail = as_reviewer(service, "GET", f"/v1/tips/{lead['id']}")
    assert detail["outcome"] == "checking" and detail["first_check_at"] is not None
    as_reviewer(
        service,
        "PATCH",
        f"/v1/inspections/{inspection['id']}",
        json={"review": {"state": "confirmed_cannabis"}},
    )
    detail = as_reviewer(service, "GET", f"/v1/tips/{lead['id']}")
    assert detail["outcome"] == "confirmed"
    assert status(service, first["code"], "AAAA1111BBBB") == {
        "code": first["code"],
        "phase": "confirmed",
        "received_on": datetime.now(UTC).date().isoformat(),
        "reward": None,
    }
    refused = service.client.post(
        f"/v1/tips/{lead['id']}/dismiss",
        json={"reason": "not_drug_plant"},
        headers=service.auth("reviewer"),
    )
    assert refused.status_code == 422 and "confirmed" in refused.json()["error"]["message"]

    # the reward: eligible needs an amount; paid needs the tipster's secret
    url = f"/v1/tips/{lead['id']}/reward"
    as_reviewer(service, "PUT", url, expect=422, json={"decision": "eligible"})
    as_reviewer(service, "PUT", url, json={"decision": "eligible", "amount": 500})
    assert status(service, first["code"], "AAAA1111BBBB")["reward"] == {
        "decision": "eligible",
        "amount": 500,
        "paid_on": None,
    }
    today = datetime.now(UTC).date().isoformat()
    wrong = as_reviewer(
        service,
        "PUT",
        url,
        expect=422,
        json={
            "decision": "eligible",
            "amount": 500,
            "paid_on": today,
            "claim_secret": "CCCC2222DDDD",
        },
    )
    assert "secret" in wrong["error"]["message"]
    paid = as_reviewer(
        service,
        "PUT",
        url,
        json={
            "decision": "eligible",
            "amount": 500,
            "paid_on": today,
            "claim_secret": "aaaa-1111-bbbb",
            "note": "cash at the office",
        },
    )
    assert paid["reward"]["paid_on"] == today and paid["reward"]["decided_by"] == "reviewer"
    again = service.client.put(
        url, json={"decision": "not_eligible"}, headers=service.auth("reviewer")
    )
    assert again.status_code == 409
    assert status(service, first["code"], "AAAA1111BBBB")["reward"]["paid_on"] == today

    actions = [a["action"] for a in paid["audit"]]
    assert actions == ["received", "targeted", "reward", "reward"]
    assert paid["audit"][-1]["changes"]["claim_verified"] is True
    assert paid["audit"][-1]["actor"] == "reviewer"
    with service.services.db.read() as session:
        logged = " ".join(str(e.changes) for e in session.scalars(select(AuditEvent)))
    assert "AAAA1111BBBB" not in logged and "CCCC2222DDDD" not in logged

    summary = as_reviewer(service, "GET", "/v1/tips/summary")
    totals = summary["totals"]
    assert (totals["received"], totals["groups"], totals["confirmed"]) == (3, 1, 3)
    assert totals["share_confirmed"] == 1.0
    assert (totals["rewards_paid"], totals["reward_amount_paid"]) == (1, 500)
    assert totals["median_hours_to_first_check"] is not None
    assert totals["median_hours_to_first_check"] >= 0
    [week] = summary["weeks"]
    assert week["received"] == 3 and week["new_groups"] == 1 and week["reward_amount_paid"] == 500
    assert "share_confirmed" in summary["definitions"]

    metrics = service.client.get("/metrics", headers=service.auth("admin")).text
    assert "plantscout_tips_share_confirmed 1.0" in metrics
    assert "plantscout_tips_reward_yuan_paid 500.0" in metrics
    assert "plantscout_tips_received_7d 3.0" in metrics
    assert re.search(r'plantscout_tips\{outcome="confirmed"\} 3\.0', metrics)
    assert re.search(r"plantscout_tips_first_check_median_hours \d", metrics)

    # the same numbers in the period report upward (JSON, XLSX sheet 群众举报, CSV)
    day = {"since": today, "until": today}
    office = as_reviewer(service, "GET", "/v1/reports/period", params={**day, "format": "json"})
    assert office["tips"]["totals"] == totals
    for who, received in (("inspector", 3), ("inspector_b", 0)):  # a unit's own: its targets
        own = service.client.get(
            "/v1/reports/period", params={**day, "format": "json"}, headers=service.auth(who)
        ).json()
        assert own["tips"]["totals"]["received"] == received, who
    book = openpyxl.load_workbook(
        io.BytesIO(
            service.client.get(
                "/v1/reports/period", params=day, headers=service.auth("reviewer")
            ).content
        )
    )
    rows = list(book["群众举报"].iter_rows(values_only=True))
    assert rows[0][:2] == ("周(周一)", "收到举报(条)")
    assert rows[-1][:6] == ("合计 (total)", 3, 1, 3, 0, 1.0) and rows[-1][-2:] == (1, 500)
    table = service.client.get(
        "/v1/reports/period",
        params={**day, "format": "csv", "table": "tips"},
        headers=service.auth("reviewer"),
    ).text
    assert table.splitlines()[-1].startswith("合计 (total),3,1,3,0,1.0,")


def test_dismissed_and_cleared_tips_are_not_confirmed(service) -> None:
    spam = tip(service, "GGGG4444HHHH", colour="blue", seed=4, place="学校后面")
    lead = tip_id(service, spam["code"])
    as_reviewer(service, "POST", f"/v1/tips/{lead}/dismiss", json={"reason": "not_drug_plant"})
    assert status(service, spam["code"], "GGGG4444HHHH")["phase"] == "not_confirmed"
    refused = as_reviewer(
        service,
        "PUT",
        f"/v1/tips/{lead}/reward",
        expect=422,
        json={"decision": "eligible", "amount": 50},
    )
    assert "confirmed" in refused["error"]["message"]
    as_reviewer(service, "PUT", f"/v1/tips/{lead}/reward", json={"decision": "not_eligible"})
    assert status(service, spam["code"], "GGGG4444HHHH")["reward"] == {
        "decision": "not_eligible",
        "amount": None,
        "paid_on": None,
    }
    assert as_reviewer(service, "GET", "/v1/tips", params={"triage": "new"})["items"] == []

    maple = tip(service, "JJJJ5555KKKK", seed=5, lat=24.0, lon=101.0, place="公园")
    lead = tip_id(service, maple["code"])
    target = as_reviewer(service, "POST", f"/v1/tips/{lead}/target", json={})["target"]
    inspection = service.file("reviewer", unit="unit-b", target_id=target["id"])
    as_reviewer(
        service,
        "PATCH",
        f"/v1/inspections/{inspection['id']}",
        json={"review": {"state": "lookalike"}},
    )
    assert as_reviewer(service, "GET", f"/v1/tips/{lead}")["outcome"] == "not_confirmed"
    assert status(service, maple["code"], "JJJJ5555KKKK")["phase"] == "not_confirmed"
    totals = as_reviewer(service, "GET", "/v1/tips/summary")["totals"]
    assert (totals["confirmed"], totals["not_confirmed"], totals["share_confirmed"]) == (0, 2, 0.0)


def test_tips_need_a_reviewer_and_bad_triage_changes_nothing(service) -> None:
    words = tip(service, "MMMM6666NNNN", colour=None, place="河边", description="白花")
    lead = tip_id(service, words["code"])
    for who, code in ((None, 401), ("inspector", 403)):
        headers = service.auth(who) if who else {}
        assert service.client.get("/v1/tips", headers=headers).status_code == code
        assert service.client.get(f"/v1/tips/{lead}", headers=headers).status_code == code
        response = service.client.post(f"/v1/tips/{lead}/target", json={}, headers=headers)
        assert response.status_code == code
    as_reviewer(service, "GET", "/v1/tips/no-such-tip", expect=404)
    # no coordinates: a new target cannot be placed, an existing one can be linked
    no_place = as_reviewer(service, "POST", f"/v1/tips/{lead}/target", expect=422, json={})
    assert "no location" in no_place["error"]["message"]
    as_reviewer(service, "POST", f"/v1/tips/{lead}/target", expect=422, json={"target_id": "nope"})
    as_reviewer(service, "POST", f"/v1/tips/{lead}/dismiss", expect=422, json={"reason": "bored"})
    as_reviewer(
        service,
        "PUT",
        f"/v1/tips/{lead}/reward",
        expect=422,
        json={"decision": "not_eligible", "amount": 5},
    )
    detail = as_reviewer(service, "GET", f"/v1/tips/{lead}")
    assert detail["triage"] == "new" and detail["version"] == 1 and detail["reward"] is None
    assert [a["action"] for a in detail["audit"]] == ["received"]

    imported = as_reviewer(
        service,
        "POST",
        "/v1/targets/import",
        data={"issuer": "sat"},
        files={"file": ("t.csv", "id,lat,lon\nS-9,25.5,102.5\n", "text/csv")},
        headers=service.auth("admin"),
    )
    linked = as_reviewer(
        service, "POST", f"/v1/tips/{lead}/target", json={"target_id": imported["ids"][0]}
    )
    assert linked["target"]["issuer_id"] == "S-9" and linked["outcome"] == "checking"
    summary = as_reviewer(
        service, "GET", "/v1/tips/summary", params={"since": "2020-01-01", "until": "2020-12-31"}
    )
    assert summary["totals"]["received"] == 0 and summary["weeks"] == []
    as_reviewer(
        service,
        "GET",
        "/v1/tips/summary",
        expect=422,
        params={"since": "2021-01-01", "until": "2020-01-01"},
    )
