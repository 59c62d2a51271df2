"""Runs last (file order): the planted secret value and API keys never left the server."""

import glob

from conftest import PLANTED_SECRET, RECORDER


def secret_part(key: str) -> str:
    return key.rsplit("_", 1)[1]


def test_nothing_leaked(server, live, sandbox):
    # Exercise the read paths once more, after every write of the suite.
    for s in live.secrets.iterate(per_page=100):
        live.secrets.get(s["id"])
    live.audit_logs.list(per_page=100)
    assert len(RECORDER.responses) > 100, "the suite made too few calls for this check to mean anything"

    planted_keys = [server.live_key, server.test_key]
    for method, url, status, body in RECORDER.responses:
        assert PLANTED_SECRET not in body, f"secret value in the answer to {method} {url}"
        for key in planted_keys:
            assert secret_part(key) not in body, f"a planted API key in the answer to {method} {url}"

    # New keys appear once: in their own creation answer and nowhere else.
    created = [(url, body) for method, url, status, body in RECORDER.responses if method == "POST" and url.endswith("/v1/api-keys") and status == 201]
    assert created
    import json
    for _, body in created:
        key = json.loads(body)["data"]["api_key"]
        shown = [b for _, _, _, b in RECORDER.responses if secret_part(key) in b]
        assert len(shown) == 1, "a new API key was shown more than once"

    output = server.output()
    assert PLANTED_SECRET not in output
    for key in planted_keys:
        assert secret_part(key) not in output

    # The databases (main files and WAL) hold neither plaintext values nor keys: only ciphertext and hashes.
    for path in glob.glob(str(server.data_dir / "*.sqlite*")):
        data = open(path, "rb").read()
        assert PLANTED_SECRET.encode() not in data, f"secret value in {path}"
        for key in planted_keys:
            assert secret_part(key).encode() not in data, f"API key in {path}"


def test_oauth_tokens_never_leaked(server):
    """Every OAuth token the SDK obtained appears once, in its own token response: never in another answer, the
    server's output or the databases (only hashes are stored)."""
    import json

    minted = []
    for method, url, status, body in RECORDER.responses:
        if url.endswith("/oauth/token") and status == 200:
            answer = json.loads(body)
            minted += [answer[k] for k in ("access_token", "refresh_token") if answer.get(k)]
    assert len(minted) >= 3, "the suite minted too few tokens for this check to mean anything"
    output = server.output()
    databases = [open(path, "rb").read() for path in glob.glob(str(server.data_dir / "*.sqlite*"))]
    for token in minted:
        shown = [url for _, url, _, body in RECORDER.responses if token in body]
        assert len(shown) == 1, "a token was shown in more than its own token response"
        assert token not in output
        for data in databases:
            assert token.encode() not in data
