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


def test_sdk_body_templates_on_a_route_that_allows_them(server, live, upstream):
    """The SDK's documented body templates ({{secret:NAME}} in the caller's own body) work on a route that lists the
    secret in callable_secrets; on a route that does not, the answer is the same for a secret that exists and one
    that does not, and nothing reaches the upstream."""
    import httpx

    allowed = live.secrets.create(name=unique("body token"), secret_type="string", value=PLANTED_SECRET)
    other = live.secrets.create(name=unique("admin key"), secret_type="string", value=PLANTED_SECRET + "-other")
    route = live.routes.create(name=unique("templated"), target_base_url=upstream.url)
    # callable_secrets is this gateway's field (no SDK argument for it): set with a plain PATCH.
    patched = httpx.patch(
        f"{server.live_url}/v1/routes/{route['id']}",
        headers={"Authorization": f"Bearer {server.live_key}"},
        json={"callable_secrets": [allowed["name"]]},
    )
    assert patched.status_code == 200, patched.text
    client = make_client(server.live_url, server.live_key, proxy_base_url=server.live_proxy_url)
    ok = client.call(route["slug"], method="POST", path="/t", body={"token": "{{secret:" + allowed["name"] + "}}"})
    assert ok.status_code == 200
    assert upstream.received[-1]["body"] == '{"token":"' + PLANTED_SECRET + '"}'
    seen = len(upstream.received)
    refused = client.call(route["slug"], method="POST", path="/t", body={"token": "{{secret:" + other["name"] + "}}"})
    missing = client.call(route["slug"], method="POST", path="/t", body={"token": "{{secret:NO_SUCH_NAME}}"})
    assert refused.status_code == missing.status_code == 400
    assert refused.json()["error"]["type"] == missing.json()["error"]["type"] == "secret_not_found"
    assert refused.json()["error"]["message"].replace(other["name"], "X") == missing.json()["error"]["message"].replace(
        "NO_SUCH_NAME", "X"
    )
    assert PLANTED_SECRET not in refused.text
    assert len(upstream.received) == seen
    client.close()
