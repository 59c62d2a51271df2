"""The SDK's data-plane call (`client.call(route, …)`) through `knoxcall serve`, unmodified."""

import pytest

from conftest import PLANTED_SECRET, make_client, unique


def test_sdk_call_injects_the_secret(server, live, upstream):
    secret = live.secrets.create(name=unique("upstream token"), secret_type="string", value=PLANTED_SECRET)
    route = live.routes.create(name=unique("echo"), target_base_url=upstream.url + "/base")
    live.routes.upsert_environment(
        route["id"], "production", inject_headers={"Authorization": "Bearer {{secret:" + secret["name"] + "}}"}
    )
    client = make_client(server.live_url, server.live_key, proxy_base_url=server.live_proxy_url)
    response = client.call(route["slug"], method="POST", path="/v1/charges", body={"amount": 100}, query={"expand": "x"})
    assert response.status_code == 200
    assert response.headers["x-knox-upstream-status"] == "200"
    assert response.headers["x-request-id"].startswith("req_")
    seen = upstream.received[-1]
    assert seen["path"] == "/base/v1/charges?expand=x"
    assert seen["headers"]["Authorization"] == "Bearer " + PLANTED_SECRET
    assert "x-knoxcall-key" not in {k.lower() for k in seen["headers"]}
    assert seen["body"] == '{"amount": 100}'
    # The response the SDK returns is the upstream's; the planted value only travelled upstream, never back.
    bound = client.route(route["slug"])
    assert bound.get("/ping").status_code == 200
    client.close()


def test_sdk_sees_knoxcall_refusals(server, live, upstream):
    client = make_client(server.live_url, server.live_key, proxy_base_url=server.live_proxy_url)
    missing = client.call("no-such-route", path="/")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "route_not_found"
    assert "x-knox-upstream-status" not in missing.headers
    client.close()
    sandbox_key_on_live = make_client(server.live_url, server.test_key, proxy_base_url=server.live_proxy_url)
    crossed = sandbox_key_on_live.call("anything", path="/")
    assert crossed.status_code == 403 and crossed.json()["error"]["type"] == "wrong_key_type"
    sandbox_key_on_live.close()


def test_request_log_shows_the_calls(server, live, upstream):
    import time

    route = live.routes.create(name=unique("logged"), target_base_url=upstream.url)
    client = make_client(server.live_url, server.live_key, proxy_base_url=server.live_proxy_url)
    ids = [client.call(route["slug"], path=f"/n/{i}").headers["x-request-id"] for i in range(3)]
    client.close()
    deadline = time.time() + 1.0
    while True:
        rows = live.routes.get_logs(route["id"], per_page=10)["data"]
        if len(rows) == 3 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert sorted(r["request_id"] for r in rows) == sorted(ids)
    assert all(r["status_code"] == 200 and r["environment"] == "production" for r in rows)
