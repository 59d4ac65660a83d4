"""Rate limits of the public endpoints: 429 with Retry-After, recovery, per client and global,
and no address kept (issue 15).

The windows are a second or two long, so each test waits that long once (the only sleeps in
this folder): waiting out a real window is what shows that a refused client recovers.
"""

from __future__ import annotations

import time

import pytest
from serve_images import photo
from sqlalchemy import func, select

from plantscout.serve.models_tips import Tip
from plantscout.serve.public_gate import PublicGate, RateLimited
from plantscout.serve.settings import Settings


def _check(service, seed: int):
    return service.client.post(
        "/v1/public/check", files=[("photos", ("a.png", photo("green", seed=seed), "image/png"))]
    )


def test_checks_answer_429_with_retry_after_and_recover(make_service) -> None:
    service = make_service(public_limit_check="2/2second")
    assert [_check(service, i).status_code for i in range(2)] == [200, 200]
    refused = _check(service, 2)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2
    # refused requests do not count: asking again at once is refused for the same wait
    assert _check(service, 3).status_code == 429
    time.sleep(wait + 0.2)
    assert _check(service, 4).status_code == 200
    metrics = service.client.get("/metrics", headers=service.auth("admin")).text
    assert 'plantscout_public_rate_limited_total{kind="check"} 2.0' in metrics


def test_tip_offs_have_their_own_limit_and_a_refused_tip_stores_nothing(make_service) -> None:
    service = make_service(public_limit_tip="1/2second")

    def tip(i: int):
        return service.client.post(
            "/v1/public/tips", data={"place": f"place {i}", "description": "plants"}
        )

    assert tip(0).status_code == 201
    refused = tip(1)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert _check(service, 9).status_code == 200  # checks are counted apart
    with service.services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Tip)) == 1
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert tip(2).status_code == 201


def _gate(**limits: str) -> PublicGate:
    return PublicGate(Settings(_env_file=None, **limits))


def test_per_client_and_global_limits() -> None:
    gate = _gate(public_limit_check="2/minute", public_limit_global="3/minute")
    gate.admit("check", "203.0.113.5")
    gate.admit("check", "203.0.113.5")
    with pytest.raises(RateLimited, match="this connection"):
        gate.admit("check", "203.0.113.5")
    gate.admit("check", "198.51.100.7")  # another client: its own allowance …
    with pytest.raises(RateLimited, match="everyone together") as refused:
        gate.admit("check", "198.51.100.8")  # … until everyone together reaches the global one
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60


def test_an_ipv6_subscriber_counts_as_one_client_per_64() -> None:
    gate = _gate(public_limit_read="2/minute")
    gate.admit("read", "2001:db8:1:2::10")
    gate.admit("read", "2001:db8:1:2:ffff::99")  # same /64
    with pytest.raises(RateLimited):
        gate.admit("read", "2001:db8:1:2::77")
    gate.admit("read", "2001:db8:1:3::10")  # the next /64 is someone else


def test_no_address_is_kept_beyond_the_window() -> None:
    gate = _gate(public_limit_read="5/1second", public_limit_global="100/1second")
    address = "192.0.2.44"
    gate.admit("read", address)
    keys = gate.live_keys()
    assert keys and not [k for k in keys if address in k or "192.0.2" in k]
    assert gate.client_key(address) != _gate().client_key(address)  # salted per start
    time.sleep(1.2)
    assert gate.prune(force=True) >= 1
    assert gate.live_keys() == []
