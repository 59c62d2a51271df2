"""schemathesis hooks for KnoxCall.

The run must never revoke the key it authenticates with: its requests would then test only the 401 path. Every call
that would revoke one of SCHEMATHESIS_OWN_KEY_IDS (this mode's key and the other mode's) is sent for an id that does
not exist instead, which still exercises the operation (a documented 404)."""

import os

import schemathesis

OWN_KEY_IDS = {k for k in os.environ.get("SCHEMATHESIS_OWN_KEY_IDS", "").split(",") if k}
UNUSED_ID = "00000000-0000-4000-8000-000000000000"


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.operation.method.upper() == "DELETE" and case.operation.path == "/v1/api-keys/{id}":
        if case.path_parameters and str(case.path_parameters.get("id", "")).lower() in OWN_KEY_IDS:
            case.path_parameters["id"] = UNUSED_ID
