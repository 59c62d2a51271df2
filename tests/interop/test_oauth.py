"""The SDK's OAuth path, unmodified: client_id/client_secret -> /oauth/token -> kc_ tokens on both faces."""

import httpx
import pytest

from conftest import RECORDER, unique
from knoxcall import KnoxCall


def split(key: str) -> tuple[str, str]:
    """SPEC: client_id is everything before the key's last '_', client_secret the rest."""
    client_id, _, secret = key.rpartition("_")
    return client_id, secret


def oauth_client(base_url: str, key: str, **kwargs) -> KnoxCall:
    client_id, secret = split(key)
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [RECORDER.hook]})
    return KnoxCall(client_id=client_id, client_secret=secret, base_url=base_url, http=http, retry_max_attempts=1, **kwargs)


def test_client_credentials_mint_and_use_a_token(server, live):
    client = oauth_client(server.live_url, server.live_key)
    route = client.routes.create(name=unique("oauth made"), target_base_url="https://example.com")
    assert route["slug"]
    assert any(r["id"] == route["id"] for r in client.routes.list(per_page=100)["data"])
    client.close()
    # The SDK went through the token endpoint, and the change is on record as made by the key, with the issuance.
    minted = [r for r in RECORDER.responses if r[1].endswith("/oauth/token")]
    assert minted and minted[-1][2] == 200
    assert '"access_token":"kc_live_' in minted[-1][3]
    actions = [e["action"] for e in live.audit_logs.list(per_page=100)["data"]]
    assert "oauth_token.issued" in actions


def test_a_token_of_the_other_mode_is_refused(server):
    client_id, secret = split(server.live_key)
    answer = httpx.post(
        server.live_url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).json()
    token = answer["access_token"]
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    crossed = httpx.get(server.test_url + "/v1/routes", headers={"Authorization": f"Bearer {token}"})
    assert crossed.status_code == 403 and crossed.json()["error"]["type"] == "wrong_key_type"
    sandbox = oauth_client(server.test_url, server.test_key)
    assert sandbox.routes.list()["data"] is not None
    sandbox.close()
    with pytest.raises(Exception) as refused:
        wrong = oauth_client(server.live_url, server.test_key)
        try:
            wrong.routes.list()
        finally:
            wrong.close()
    assert "invalid_client" in str(refused.value) or "test key" in str(refused.value)


def test_sdk_data_plane_call_with_a_token(server, live, upstream):
    route = live.routes.create(name=unique("oauth echo"), target_base_url=upstream.url)
    client = oauth_client(server.live_url, server.live_key, proxy_base_url=server.live_proxy_url)
    response = client.call(route["slug"], path="/ping")
    assert response.status_code == 200
    seen = upstream.received[-1]
    assert not any("kc_live_" in value for value in seen["headers"].values())
    client.close()


def test_introspect_and_revoke(server):
    client_id, secret = split(server.live_key)
    token = httpx.post(
        server.live_url + "/oauth/token", data={"grant_type": "client_credentials", "scope": "routes:read"},
        auth=(client_id, secret),
    ).json()["access_token"]
    info = httpx.post(server.live_url + "/oauth/introspect", data={"token": token}, auth=(client_id, secret)).json()
    assert info["active"] is True and info["scope"] == "routes:read" and info["client_id"] == client_id
    assert httpx.post(server.live_url + "/oauth/revoke", data={"token": token}, auth=(client_id, secret)).status_code == 200
    after = httpx.get(server.live_url + "/v1/routes", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    metadata = httpx.get(server.live_url + "/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"] == server.live_url + "/oauth/token"
    assert metadata["grant_types_supported"] == [
        "client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"
    ]


def test_dpop_always_binds_the_token_to_the_sdks_key(server, live, upstream):
    import json

    client = oauth_client(server.live_url, server.live_key, dpop="always", proxy_base_url=server.live_proxy_url)
    assert client.routes.list()["data"] is not None
    minted = [r for r in RECORDER.responses if r[1].endswith("/oauth/token")][-1]
    answer = json.loads(minted[3])
    assert answer["token_type"] == "DPoP"
    # DPoP-bound calls work on both faces.
    route = live.routes.create(name=unique("dpop echo"), target_base_url=upstream.url)
    assert client.call(route["slug"], path="/dpop").status_code == 200
    assert "dpop" not in {k.lower() for k in upstream.received[-1]["headers"]}
    client.close()
    # Without the SDK's private key the token is worthless: as a bearer token, or with a proof by another key.
    stolen = httpx.get(server.live_url + "/v1/routes", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert stolen.status_code == 401 and stolen.json()["error"]["type"] == "invalid_dpop_proof"
    assert "DPoP" in stolen.headers["www-authenticate"]


def test_auto_mode_upgrades_for_a_client_that_requires_dpop(server):
    created = httpx.post(
        server.live_url + "/v1/api-keys", headers={"Authorization": f"Bearer {server.live_key}"},
        json={"name": unique("strict"), "require_dpop": True, "never_expires": True,
              "role_ids": [r["id"] for r in httpx.get(server.live_url + "/v1/roles", headers={"Authorization": f"Bearer {server.live_key}"}).json()["data"] if r["slug"] == "admin"]},
    ).json()["data"]
    assert created["require_dpop"] is True
    client = oauth_client(server.live_url, created["api_key"])  # dpop="auto"
    assert client.routes.list()["data"] is not None
    minted = [r for r in RECORDER.responses if r[1].endswith("/oauth/token")]
    assert minted[-2][2] == 400 and "invalid_dpop_proof" in minted[-2][3]
    assert minted[-1][2] == 200 and '"token_type":"DPoP"' in minted[-1][3]
    client.close()


def test_metadata_parses_and_validates_with_authlib(server):
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    document = httpx.get(server.live_url + "/.well-known/oauth-authorization-server").json()
    metadata = AuthorizationServerMetadata(document)
    metadata.validate()  # RFC 8414 rules, as a standard OAuth library reads them
    assert metadata["issuer"] == server.live_url
    assert "S256" in metadata["code_challenge_methods_supported"]


# authlib 1.9 warns that its httpx integration moves to "httpx2"; the integration itself is what is exercised here.
@pytest.mark.filterwarnings("ignore:The httpx module is deprecated")
def test_authorization_code_flow_with_pkce_using_authlib(server, live):
    import re
    from urllib.parse import parse_qs, urlsplit

    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

    callback = "http://127.0.0.1:65000/callback"
    created = httpx.post(
        server.live_url + "/v1/api-keys", headers={"Authorization": f"Bearer {server.live_key}"},
        json={"name": unique("cli login"), "never_expires": True, "redirect_uris": [callback],
              "role_ids": ["5e3c1a40-0000-4000-8000-000000000002"]},
    ).json()["data"]
    client_id, _ = split(created["api_key"])
    verifier = generate_token(64)
    oauth = OAuth2Client(client_id=client_id, redirect_uri=callback, scope="routes:read", code_challenge_method="S256",
                         token_endpoint_auth_method="none")
    url, state = oauth.create_authorization_url(server.live_url + "/oauth/authorize", code_verifier=verifier)
    # The browser: the consent page, approved on the page with a key that may manage keys.
    page = httpx.get(url)
    assert page.status_code == 200 and "cli login" in page.text
    request_id = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
    approved = httpx.post(server.live_url + "/oauth/authorize",
                          data={"request": request_id, "decision": "approve", "api_key": server.live_key})
    assert approved.status_code == 302
    location = approved.headers["location"]
    assert location.startswith(callback) and parse_qs(urlsplit(location).query)["state"] == [state]
    token = oauth.fetch_token(server.live_url + "/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["access_token"].startswith("kc_live_") and token["refresh_token"].startswith("kcr_live_")
    assert token["scope"] == "routes:read"
    assert httpx.get(server.live_url + "/v1/routes", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 200
    # Rotation through the library, then the spent refresh token trips theft detection.
    renewed = oauth.refresh_token(server.live_url + "/oauth/token", refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]
    replay = httpx.post(server.live_url + "/oauth/token",
                        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client_id})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    dead = httpx.get(server.live_url + "/v1/routes", headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert dead.status_code == 401
    assert any(e["action"] == "oauth_token.family_revoked" for e in live.audit_logs.list(per_page=50)["data"])
    oauth.close()


def test_sdk_workload_identity_from_github_actions(server, oidc, live, monkeypatch, tmp_path):
    """The SDK, with no credentials, detects a GitHub Actions runner (the env vars point at the loopback issuer),
    fetches an ID token and exchanges it (RFC 8693) for a KnoxCall token that carries the subject's role."""
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", oidc.url + "/token?v=1")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", oidc.REQUEST_TOKEN)
    monkeypatch.setenv("KNOXCALL_CREDENTIALS_FILE", str(tmp_path / "none.json"))
    for name in ("KNOXCALL_ACCESS_TOKEN", "KNOXCALL_API_KEY", "KNOXCALL_CLIENT_ID", "KNOXCALL_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [RECORDER.hook]})
    client = KnoxCall(base_url=server.live_url, http=http, retry_max_attempts=1)
    route = client.routes.create(name=unique("from ci"), target_base_url="https://example.com")
    assert route["id"]
    client.close()
    exchanged = [r for r in RECORDER.responses if r[1].endswith("/oauth/token")][-1]
    assert exchanged[2] == 200 and '"issued_token_type"' in exchanged[3]
    audit = live.audit_logs.list(per_page=100)["data"]
    assert any(e["action"] == "route.created" and e["actor"] == "workload:" + oidc.SUBJECT for e in audit)
    # The assertion was single use; and an ID token for another audience is refused.
    replay = httpx.post(server.live_url + "/oauth/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "subject_token": oidc.issued[-1], "audience": "knoxcall:api"})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    now = int(__import__("time").time())
    other = oidc.sign({"iss": oidc.ISSUER, "sub": oidc.SUBJECT, "aud": "someone-else", "iat": now, "exp": now + 60})
    refused = httpx.post(server.live_url + "/oauth/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token", "subject_token": other})
    assert refused.status_code == 400 and "aud" in refused.json()["error_description"]
