"""The served OpenAPI document is valid OpenAPI 3.1 and the server's answers fit its schemas."""

import json

import httpx
import jsonschema
from openapi_spec_validator import validate

from conftest import ROOT, unique


def test_document_is_valid_and_committed(server):
    served = httpx.get(server.live_url + "/v1/openapi.json").json()
    validate(served)
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert served == committed


def test_answers_match_their_schemas(server, live):
    doc = httpx.get(server.live_url + "/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def check(name, value):
        schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
        jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator)

    route = live.routes.create(name=unique("schema"), target_base_url="https://example.com")
    check("Route", route)
    check("Route", live.routes.get(route["id"]))
    for env in live.routes.list_environments(route["id"]):
        check("RouteEnvironment", env)
    secret = live.secrets.create(name=unique("schema secret"), secret_type="string", value="v")
    check("Secret", secret)
    check("Secret", live.secrets.get(secret["id"]))
    client = live.clients.create(name=unique("schema client"), ip_address="10.1.1.1")
    check("Client", client)
    check("Client", live.clients.get(client["id"]))
    for env in live.environments.list():
        check("Environment", env)
    for key in live.api_keys.list()["data"]:
        check("ApiKey", key)
    for role in live.roles.list()["data"]:
        check("Role", role)
    for entry in live.audit_logs.list(per_page=50)["data"]:
        check("AuditLogEntry", entry)
    check("Account", live.account.get())
    check("AccountUsage", live.account.get_usage())
    error = httpx.get(server.live_url + "/v1/routes/nope", headers={"x-api-key": server.live_key}).json()
    check("Error", error)
    live.routes.delete(route["id"])
    live.secrets.delete(secret["id"])
    live.clients.delete(client["id"])
