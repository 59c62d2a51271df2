"""Interoperability suite: the published KnoxCall Python SDK (knoxcall 1.2.0, unmodified) against a real
`knoxcall serve` on loopback.

Every response the SDK receives is recorded, so that the leak test at the end can prove a planted secret value and
the planted API keys never came back (beyond the one-time display of a new key).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from knoxcall import KnoxCall

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KNOXCALL_BIN", str(ROOT / ".build" / "debug" / "knoxcall"))

# Planted values: they must never appear in any response, audit row, log line or database page.
PLANTED_SECRET = "PLANTED-" + uuid.uuid4().hex


class Recorder:
    """Keeps the body of every response the SDK clients receive (and which request it answered)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.responses: list[tuple[str, str, int, str]] = []

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        with self.lock:
            self.responses.append(
                (response.request.method, str(response.request.url), response.status_code, response.text)
            )


RECORDER = Recorder()


class OIDCIssuer:
    """A workload-identity issuer on loopback, shaped like GitHub Actions' OIDC provider: `/jwks` serves its key set,
    `/token?…&audience=…` (with the runner's request token) hands out RS256 ID tokens for `subject`."""

    ISSUER = "https://token.actions.githubusercontent.com"
    REQUEST_TOKEN = "gha-request-token-" + uuid.uuid4().hex
    SUBJECT = "repo:acme/deploy:ref:refs/heads/main"

    def __init__(self) -> None:
        import base64
        import http.server
        import json as _json

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        def b64int(value: int) -> str:
            return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        jwks = _json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                                       "n": b64int(numbers.n), "e": b64int(numbers.e)}]}).encode()
        issuer = self
        self.issued: list[str] = []

        def sign(claims: dict) -> str:
            header = b64(_json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
            body = b64(_json.dumps(claims).encode())
            signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
            return f"{header}.{body}.{b64(signature)}"

        self.sign = sign

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit

                url = urlsplit(self.path)
                if url.path == "/jwks":
                    out = jwks
                elif url.path == "/token" and self.headers.get("authorization") == f"Bearer {issuer.REQUEST_TOKEN}":
                    now = int(time.time())
                    audience = parse_qs(url.query).get("audience", ["?"])[0]
                    token = sign({"iss": issuer.ISSUER, "sub": issuer.SUBJECT, "aud": audience, "iat": now,
                                  "nbf": now, "exp": now + 300, "jti": uuid.uuid4().hex})
                    issuer.issued.append(token)
                    out = _json.dumps({"value": token}).encode()
                else:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self) -> str:
        return (
            "[[oauth.workload_issuers]]\n"
            f'issuer = "{self.ISSUER}"\n'
            'audience = "knoxcall:api"\n'
            f'jwks_url = "{self.url}/jwks"\n'
            f'subjects = {{ "{self.SUBJECT}" = "editor", "repo:acme/*" = "read-only" }}\n'
        )

    def stop(self) -> None:
        self.server.shutdown()


OIDC = OIDCIssuer()


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.stdout_path = data_dir.parent / "serve.stdout"
        self.stderr_path = data_dir.parent / "serve.stderr"
        self.live_key = self.cli("keys", "create", "--name", "interop-live").strip()
        self.test_key = self.cli("keys", "create", "--name", "interop-test", "--test").strip()
        # A trusted workload issuer (token exchange), with its key set fetched over loopback.
        (data_dir / "config.toml").write_text(OIDC.config())
        self.process = subprocess.Popen(
            [
                BINARY, "serve", "--data-dir", str(data_dir), "--live-api", "127.0.0.1:0", "--test-api", "127.0.0.1:0",
                "--live-proxy", "127.0.0.1:0", "--test-proxy", "127.0.0.1:0",
            ],
            stdout=open(self.stdout_path, "wb"),
            stderr=open(self.stderr_path, "wb"),
            env=self.env(),
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.stdout_path.read_text(errors="replace")
            live = re.search(r"Live management API: http://127\.0\.0\.1:(\d+)", text)
            test = re.search(r"Test management API: http://127\.0\.0\.1:(\d+)", text)
            live_proxy = re.search(r"Live data plane: http://127\.0\.0\.1:(\d+)", text)
            test_proxy = re.search(r"Test data plane: http://127\.0\.0\.1:(\d+)", text)
            if live and test and live_proxy and test_proxy:
                self.live_url = f"http://127.0.0.1:{live.group(1)}"
                self.test_url = f"http://127.0.0.1:{test.group(1)}"
                self.live_proxy_url = f"http://127.0.0.1:{live_proxy.group(1)}"
                self.test_proxy_url = f"http://127.0.0.1:{test_proxy.group(1)}"
                return
            if self.process.poll() is not None:
                raise RuntimeError("knoxcall serve exited: " + self.stderr_path.read_text(errors="replace"))
            time.sleep(0.05)
        raise RuntimeError("knoxcall serve did not start")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("KNOXCALL_MASTER_KEY", None)
        env.pop("KNOXCALL_HOME", None)
        return env

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [BINARY, *args, "--data-dir", str(self.data_dir)], capture_output=True, text=True, env=self.env(), timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"knoxcall {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def oidc():
    return OIDC


@pytest.fixture(scope="session")
def server():
    workdir = Path(tempfile.mkdtemp(prefix="knoxcall-interop-"))
    srv = Server(workdir / "data")
    yield srv
    srv.stop()
    keep_for_leak_scan(srv)
    shutil.rmtree(workdir, ignore_errors=True)


def keep_for_leak_scan(srv: Server) -> None:
    """With $KNOXCALL_CAPTURE_DIR set (make test), leaves this suite's part of the whole-suite leak scan there
    (scripts/leak-scan.py): the planted secret value, both keys and every OAuth token minted, as planted values; every
    SDK answer (a new key's or token's own answer as its one-time display), the server's output and the data
    directory (SQLite files and WAL) as captures."""
    root = os.environ.get("KNOXCALL_CAPTURE_DIR")
    if not root:
        return
    import json

    base = Path(root)
    for folder in ("planted", "interop", "shown-once", "data"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    planted = [("secret_value", PLANTED_SECRET)]
    # tk_<mode>_<key id>_<secret>: the secret (which may hold "_") is what must never come back.
    planted += [("api_key", key.split("_", 3)[3]) for key in (srv.live_key, srv.test_key)]
    for n, (method, url, status, body) in enumerate(RECORDER.responses):
        shown_once = False
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and url.endswith("/oauth/token") and status == 200:
            planted += [("oauth_token", answer[k]) for k in ("access_token", "refresh_token") if answer.get(k)]
            shown_once = True
        if method == "POST" and url.endswith("/v1/api-keys") and status == 201:
            shown_once = True
        folder = "shown-once" if shown_once else "interop"
        (base / folder / f"interop-{n}").write_text(f"{method} {url} {status}\n{body}")
    with open(base / "planted" / "interop.tsv", "a") as f:
        for kind, value in planted:
            f.write(f"{kind}\t{value.encode().hex()}\n")
    (base / "interop" / "server-output").write_text(srv.output())
    shutil.copytree(srv.data_dir, base / "data" / "interop", dirs_exist_ok=True)


def make_client(base_url: str, api_key: str, **kwargs) -> KnoxCall:
    """A sync SDK client whose transport records every response."""
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [RECORDER.hook]})
    kwargs.setdefault("retry_max_attempts", 1)
    return KnoxCall(api_key=api_key, base_url=base_url, http=http, **kwargs)


@pytest.fixture(scope="session")
def live(server):
    client = make_client(server.live_url, server.live_key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox(server):
    client = make_client(server.test_url, server.test_key)
    yield client
    client.close()


class EchoUpstream:
    """A real upstream on loopback that answers every request with what it received, as JSON."""

    def __init__(self) -> None:
        import http.server
        import json as _json

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                record = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode("utf-8", "replace")}
                received.append(record)
                # Answers without echoing headers: what the upstream got is checked on `received`, and an answer
                # carrying an injected credential back would be the upstream's leak, not KnoxCall's.
                out = _json.dumps({"ok": True, "path": self.path}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def upstream():
    echo = EchoUpstream()
    yield echo
    echo.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
