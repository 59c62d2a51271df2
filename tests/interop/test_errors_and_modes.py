"""The SDK's exceptions carry the documented type and status; Live and Test never mix."""

import asyncio

import httpx
import pytest
from knoxcall import AuthenticationError, ConflictError, KnoxCallAsync, KnoxCallError, NotFoundError, PermissionDeniedError, RateLimitError

from conftest import RECORDER, make_client, unique


def test_error_types_and_statuses(server, live):
    with pytest.raises(NotFoundError) as e:
        live.clients.get("00000000-0000-4000-8000-000000000000")
    assert (e.value.status, e.value.code) == (404, "not_found")
    assert e.value.request_id and e.value.request_id.startswith("req_")

    with pytest.raises(KnoxCallError) as e:
        live.routes.create(name=unique("bad"), target_base_url="ftp://example.com")
    assert (e.value.status, e.value.code) == (400, "validation_error")
    assert "target_base_url" in str(e.value)

    name = unique("dup")
    live.routes.create(name=name, target_base_url="https://example.com")
    with pytest.raises(ConflictError) as e:
        live.routes.create(name=name, target_base_url="https://example.com")
    assert (e.value.status, e.value.code) == (409, "conflict")

    bad_key = make_client(server.live_url, "tk_live_aaaaaaaaaaaa_" + "b" * 43)
    with pytest.raises(AuthenticationError) as e:
        bad_key.routes.list()
    assert (e.value.status, e.value.code) == (401, "invalid_api_key")
    bad_key.close()

    crossed = make_client(server.live_url, server.test_key)
    with pytest.raises(PermissionDeniedError) as e:
        crossed.routes.list()
    assert (e.value.status, e.value.code) == (403, "wrong_key_type")
    crossed.close()

    with pytest.raises(KnoxCallError) as e:
        live.clients.create(name="c", ip_address="10.0.0.5/16")
    assert (e.value.status, e.value.code) == (400, "validation_error")
    assert "did you mean 10.0.0.0/16" in str(e.value)

    with pytest.raises(KnoxCallError) as e:
        live.api_keys.create(name="x", expires_in_days=5, never_expires=True)
    assert (e.value.status, e.value.code) == (400, "conflicting_expiry_fields")


def test_rate_limit_error(server, live):
    limited = live.api_keys.create(name=unique("tight"), role_ids=[r["id"] for r in live.roles.list()["data"] if r["slug"] == "read-only"], rate_limit_requests=2, rate_limit_window_sec=60, never_expires=True)
    client = make_client(server.live_url, limited["api_key"])
    client.routes.list()
    client.routes.list()
    with pytest.raises(RateLimitError) as e:
        client.routes.list()
    assert (e.value.status, e.value.code) == (429, "rate_limit_exceeded")
    assert e.value.retry_after == 30
    client.close()


def test_sandbox_is_isolated(live, sandbox):
    route = sandbox.routes.create(name=unique("sandbox only"), target_base_url="https://example.com")
    assert route["sandbox"] is True
    assert all(r["id"] != route["id"] for r in live.routes.iterate(per_page=100))
    with pytest.raises(NotFoundError):
        live.routes.get(route["id"])
    key = sandbox.api_keys.create(name=unique("sandbox key"))
    assert key["api_key"].startswith("tk_test_") and key["key_type"] == "test"
    entries = sandbox.audit_logs.list(per_page=100)["data"]
    assert entries and all(e["details"]["sandbox"] is True for e in entries)
    sandbox.routes.delete(route["id"])


def test_logs_feed_of_a_side_without_traffic_is_empty(server):
    async def run():
        http = httpx.AsyncClient(event_hooks={"response": [RECORDER.hook]})
        async with KnoxCallAsync(api_key=server.test_key, base_url=server.test_url, http=http, retry_max_attempts=1) as client:
            page = await client.logs.list(limit=10)
            assert page["data"] == []
            assert page["meta"]["next_cursor"] is None
            assert page["meta"]["dedupe_on"] == "request_id"
            events = await client.audit_logs.events(limit=1, action_prefix="route.")
            assert len(events["data"]) == 1 and events["meta"]["next_cursor"]
            rest = [e async for e in client.audit_logs.iterate_events(cursor=events["meta"]["next_cursor"], limit=50)]
            assert all(e["id"] != events["data"][0]["id"] for e in rest)
            route = await client.routes.create(name=unique("logless"), target_base_url="https://example.com")
            logs = await client.routes.get_logs(route["id"])
            assert logs["data"] == [] and logs["meta"]["total"] == 0
            await client.routes.delete(route["id"])
    asyncio.run(run())
