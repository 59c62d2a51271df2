"""Secrets, clients, environments, API keys, roles, audit logs and account through the SDK."""

import pytest
from knoxcall import ConflictError, KnoxCall, NotFoundError, PermissionDeniedError

from conftest import PLANTED_SECRET, make_client, unique


def test_secret_lifecycle(live):
    secret = live.secrets.create(name=unique("Stripe API Key"), secret_type="api_key", value=PLANTED_SECRET)
    assert secret["name"] == secret["shortcode_name"]
    assert secret["name"].startswith("STRIPE_API_KEY-")
    assert secret["secret_type"] == "string"
    assert "value" not in secret
    env = unique("qa").replace("-", "_")
    live.environments.create(name=env)
    result = live.secrets.set_value(secret["id"], value=PLANTED_SECRET + "-rotated", environment=env)
    assert result == {"id": secret["id"], "name": secret["name"], "environment": env, "value_version": 1}
    again = live.secrets.set_value(secret["id"], value=PLANTED_SECRET + "-rotated-2")
    assert again["environment"] == "production" and again["value_version"] == 2
    detail = live.secrets.get(secret["id"])
    assert detail["environment_count"] == 2
    assert sorted(e["environment_name"] for e in detail["environments"]) == sorted(["production", env])
    assert any(s["id"] == secret["id"] for s in live.secrets.iterate(per_page=100))
    updated = live.secrets.update(secret["id"], description="card processor", strict_expiry_enforcement=True)
    assert updated["strict_expiry_enforcement"] is True

    route = live.routes.create(name=unique("uses secret"), target_base_url="https://api.example.com")
    live.routes.upsert_environment(route["id"], "production", inject_headers={"Authorization": "Bearer {{secret:" + secret["name"] + "}}"})
    with pytest.raises(ConflictError) as err:
        live.secrets.delete(secret["id"])
    assert err.value.status == 409 and err.value.code == "in_use"
    live.routes.delete(route["id"])
    live.secrets.delete(secret["id"])
    with pytest.raises(NotFoundError):
        live.secrets.get(secret["id"])
    live.environments.delete(env)


def test_client_lifecycle(live):
    client = live.clients.create(name=unique("backend"), ip_address="203.0.113.0/24", description="main servers")
    assert client["type"] == "server"
    assert client["ip_address"] == "203.0.113.0/24"
    v6 = live.clients.create(name=unique("v6"), ip_address="2001:DB8::1", type="user")
    assert v6["ip_address"] == "2001:db8::1"
    updated = live.clients.update(client["id"], enabled=False, ip_address="198.51.100.7")
    assert updated["enabled"] is False and updated["ip_address"] == "198.51.100.7"
    detail = live.clients.get(client["id"])
    assert detail["route_assignments"] == []
    assert {c["id"] for c in live.clients.iterate(per_page=1)} >= {client["id"], v6["id"]}
    live.clients.delete(client["id"])
    live.clients.delete(v6["id"])
    with pytest.raises(NotFoundError):
        live.clients.get(client["id"])


def test_environment_lifecycle(live):
    name = unique("staging").replace("-", "_")
    env = live.environments.create(name=name, display_name="Staging", description="pre-prod", color="#00aa00")
    assert env["name"] == name and env["is_default"] is False and env["sandbox"] is False
    assert any(e["name"] == "production" and e["is_default"] for e in live.environments.list())
    updated = live.environments.update(env["id"], display_name="Staging EU")
    assert updated["display_name"] == "Staging EU"
    with pytest.raises(ConflictError):
        live.environments.create(name=name)
    live.environments.delete(env["id"])
    assert not any(e["name"] == name for e in live.environments.list())


def test_api_keys_and_roles(server, live):
    roles = live.roles.list(subject_kind="api_key")["data"]
    by_slug = {r["slug"]: r for r in roles}
    assert {"read-only", "editor", "infrastructure", "invoke"} <= set(by_slug)
    assert all(r["seeded"] for r in roles)
    created = live.api_keys.create(name=unique("ci"), role_ids=[by_slug["read-only"]["id"]], expires_in_days=30)
    assert created["api_key"].startswith("tk_live_")
    assert created["key_type"] == "standard"
    assert created["expires_at"] is not None
    listed = {k["id"]: k for k in live.api_keys.iterate(per_page=100)}
    assert created["id"] in listed and "api_key" not in listed[created["id"]]

    reader = make_client(server.live_url, created["api_key"])
    assert reader.routes.list()["meta"]["page"] == 1
    with pytest.raises(PermissionDeniedError) as err:
        reader.routes.create(name=unique("nope"), target_base_url="https://example.com")
    assert err.value.status == 403 and err.value.code == "forbidden"
    with pytest.raises(PermissionDeniedError) as err:
        reader.api_keys.create(name="escalate", role_ids=[by_slug["editor"]["id"]])
    assert err.value.code == "forbidden"

    assert live.api_keys.revoke(created["id"]) == {"revoked": True}
    from knoxcall import AuthenticationError
    with pytest.raises(AuthenticationError) as err:
        reader.routes.list()
    assert err.value.code == "invalid_api_key"
    reader.close()


def test_audit_logs(live):
    route = live.routes.create(name=unique("audited"), target_base_url="https://example.com")
    live.routes.delete(route["id"])
    entries = live.audit_logs.list(resource_type="route", per_page=100)["data"]
    actions = [e["action"] for e in entries if e["resource_id"] == route["id"]]
    assert actions == ["route.deleted", "route.created"]  # newest first
    assert all(e["details"]["sandbox"] is False for e in entries)
    created = live.audit_logs.list(action="route.created", per_page=5)
    assert all(e["action"] == "route.created" for e in created["data"])
    walked = list(live.audit_logs.iterate(per_page=7, resource_type="route"))
    assert len(walked) == len({e["id"] for e in walked}) >= 2


def test_account(live, sandbox):
    account = live.account.get()
    assert account["slug"] == "local"
    assert account["subscription_status"] == "active"
    assert sandbox.account.get()["id"] == account["id"]
    usage = live.account.get_usage()
    assert set(usage["resources"]) == {"routes", "secrets", "clients", "environments"}
