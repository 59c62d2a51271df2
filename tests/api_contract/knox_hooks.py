"""schemathesis hooks for KnoxCall.

1. The run must never revoke the key it authenticates with: its requests would then test only the 401 path. Every
   call that would revoke one of SCHEMATHESIS_OWN_KEY_IDS (this mode's key and the other mode's) is sent for an id
   that does not exist instead, which still exercises the operation (a documented 404).

2. Generated `X-Idempotency-Key` values repeat often ("0", "A"), and a repeat with another request is a documented
   409 that would end half of all mutations before they reach the handler. Each one gets a suffix unique to the run,
   so the header is still sent (and its pattern exercised) while the request itself is tested. The replay rules have
   their own tests (Tests/KnoxAPITests).

3. `documented_refusal_only`: schemathesis.toml lets `positive_data_acceptance` take a 400, and this check takes
   back every 400 but one kind. A request that matches the document may be refused with 400 only for a rule the
   document cannot state as a schema (something that does not exist in the store, a field that cannot change, a rule
   of config.toml, fields that go together, a time window, the other mode, a non-canonical range, a reserved header
   name). Those answers carry `error.reason`, one of the values the document's `Error` schema lists. A 400 without it
   means the document and the server disagree, and fails the run exactly as schemathesis' own check would.
"""

import itertools
import json
import os

import schemathesis
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

OWN_KEY_IDS = {k for k in os.environ.get("SCHEMATHESIS_OWN_KEY_IDS", "").split(",") if k}
UNUSED_ID = "00000000-0000-4000-8000-000000000000"
_idempotency_serial = itertools.count()


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.operation.method.upper() == "DELETE" and case.operation.path == "/v1/api-keys/{id}":
        if case.path_parameters and str(case.path_parameters.get("id", "")).lower() in OWN_KEY_IDS:
            case.path_parameters["id"] = UNUSED_ID
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "x-idempotency-key":
            value = str(headers[name])
            if 1 <= len(value) <= 255 and all("!" <= c <= "~" for c in value):
                headers[name] = f"{value[:240]}.{next(_idempotency_serial)}"


def _documented_reasons(case):
    schema = case.operation.schema.raw_schema
    error = schema["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    return set(error["reason"]["enum"])


@schemathesis.check
def documented_refusal_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or is_unexpected_http_status_case(case):
        return None
    if response.status_code != 400:
        return None
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("Schema-valid request answered 400 without an error envelope")
    reason = error.get("reason")
    if reason not in _documented_reasons(case):
        raise AssertionError(
            "Schema-valid request rejected with 400 and no documented error.reason "
            f"(type {error.get('type')!r}, field {error.get('field')!r}): {error.get('message')!r}"
        )
    return None
