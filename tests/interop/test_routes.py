"""Routes through the SDK: create, list, page through, update, environments, delete."""

import pytest
from knoxcall import KnoxCallError, NotFoundError

from conftest import unique


def test_route_lifecycle(live):
    name = unique("Payment Gateway")
    route = live.routes.create(name=name, target_base_url="https://api.stripe.com/v1/")
    assert route["name"] == name
    assert route["slug"].startswith("payment-gateway-")
    assert route["target_base_url"] == "https://api.stripe.com/v1"
    assert route["base_environment"] == "production"
    assert route["sandbox"] is False

    got = live.routes.get(route["id"])
    assert got["configured_environments"] == ["production"]
    assert live.routes.get(route["slug"])["id"] == route["id"]

    updated = live.routes.update(route["id"], name=name + " v2", enabled=False, requires_clients=True, intercept_enabled=False)
    assert updated["name"] == name + " v2"
    assert updated["enabled"] is False
    assert updated["requires_clients"] is True
    assert updated["intercept_enabled"] is False
    assert updated["slug"] == route["slug"]  # slugs never change
    # Interception is not done by this gateway: switching it on is refused, naming the field, and changes nothing.
    with pytest.raises(KnoxCallError) as refused:
        live.routes.update(route["id"], intercept_enabled=True)
    assert refused.value.status == 400 and refused.value.code == "validation_error"
    assert "intercept_enabled" in str(refused.value)
    assert live.routes.get(route["id"])["intercept_enabled"] is False

    live.routes.delete(route["id"])
    with pytest.raises(NotFoundError) as err:
        live.routes.get(route["id"])
    assert err.value.status == 404
    assert err.value.code == "not_found"


def test_pagination_walks_every_route(live):
    prefix = unique("page")
    created = {live.routes.create(name=f"{prefix}-{i}", target_base_url="https://example.com")["id"] for i in range(23)}
    seen = []
    for row in live.routes.iterate(per_page=5):
        seen.append(row["id"])
    assert created <= set(seen)
    assert len(seen) == len(set(seen)), "a route appeared on two pages"
    page = live.routes.list(page=1, per_page=5)
    assert page["meta"]["per_page"] == 5
    assert page["meta"]["total"] >= 23
    assert page["meta"]["total_pages"] == -(-page["meta"]["total"] // 5)
    beyond = live.routes.list(page=10_000, per_page=100)
    assert beyond["data"] == []
    for route_id in created:
        live.routes.delete(route_id)


def test_environment_overrides(live):
    env_name = unique("stage").replace("-", "_")
    live.environments.create(name=env_name, display_name="Stage", color="#ff8800")
    route = live.routes.create(name=unique("env route"), target_base_url="https://prod.example.com")
    override = live.routes.upsert_environment(
        route["id"],
        env_name,
        target_base_url="https://stage.example.com",
        inject_headers={"X-Env": "stage"},
        inject_body={"env": "stage"},
        injection_rules=[],
        ip_allowlist=["10.0.0.0/8", "2001:db8::/32"],
        require_signature=False,
        signature_tolerance_sec=120,
        rate_limit_enabled=True,
        rate_limit_requests=10,
        rate_limit_window_sec=60,
        rate_limit_burst=20,
        allowed_methods=["GET", "POST"],
        intercept_enabled=False,
    )
    assert override["environment_name"] == env_name
    assert override["target_base_url"] == "https://stage.example.com"
    assert override["ip_allowlist"] == ["10.0.0.0/8", "2001:db8::/32"]
    envs = live.routes.list_environments(route["id"])
    assert [e["environment_name"] for e in envs] == ["production", env_name]
    assert live.routes.get(route["id"])["environment_override_count"] == 1
    live.routes.delete_environment(route["id"], env_name)
    assert [e["environment_name"] for e in live.routes.list_environments(route["id"])] == ["production"]
    live.routes.delete(route["id"])
    live.environments.delete(env_name)
