"""The OpenAPI document tells the truth: schemathesis generates requests from it —
valid and invalid — and checks every answer against it (status codes, JSON shapes,
headers, 401 without the token, no 5xx). Few derandomized examples per operation
keep it fast and repeatable."""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from web.api.idempotency import KEY_PATTERN

USER = "reception1"


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32 reads and rewrites `item._nodeid`, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
def api_document(app, api, cases):
    """The served document, loaded through the app itself (WSGI), with a case and a task to find."""
    cases.start()
    api.token(USER)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_document")


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_document(case, api):
    make_keys_unique(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {api.token(USER)}"})


def make_keys_unique(case) -> None:
    """A valid generated Idempotency-Key, made one of a kind: the same key sent again with
    another body is a 422 by design, which schemathesis, not knowing of the first request,
    would take for valid data refused. Malformed keys are left as generated."""
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and re.fullmatch(KEY_PATTERN, key):
        case.headers["Idempotency-Key"] = f"{key}-{uuid.uuid4().hex}"[-255:]
