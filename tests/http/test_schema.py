"""Schemathesis against the live OpenAPI schema of a real casepilot-serve: generated requests never get a 5xx,
and responses match the documented status codes, content types, headers and schemas.

(schemathesis.pytest.from_fixture does not work with pytest 9, so each operation's strategy is run here with
Hypothesis directly; one pytest test per operation.)"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance

pytestmark = [pytest.mark.http, pytest.mark.shared_data]

MAX_EXAMPLES = int(os.environ.get("CASEPILOT_SCHEMATHESIS_EXAMPLES", "20"))
OPERATIONS = [("POST", "/v1/ask"), ("POST", "/v1/ask/stream"), ("GET", "/v1/codes/{code}"), ("GET", "/v1/search"),
              ("POST", "/v1/claims/check"), ("GET", "/v1/modifiers/{modifier}"), ("GET", "/healthz"),
              ("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/v1/mail")]
# An RFC 822 message is a text/plain body to the schema: whether it has a From address to answer cannot be said
# in JSON Schema, so a generated string is "schema-valid" yet unreadable, and the documented 422 is right for it.
# Every other check (no 5xx, documented statuses, response schemas) still runs on this operation.
FREE_TEXT_BODIES = {("POST", "/v1/mail")}


def _integral_floats_as_integers(value):
    """JSON Schema counts 2.0 as an integer, but the claim check takes only integer literals for units (issue 15:
    "2.0" accepted was a finding); generated 2.0s are sent as 2, so a rejection of 2.0 is not a schema violation."""
    if isinstance(value, dict):
        return {k: (int(v) if k == "units" and isinstance(v, float) and v.is_integer()
                    else _integral_floats_as_integers(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_integers(v) for v in value]
    return value


@pytest.fixture(scope="module")
def api_schema(live_server):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")

    @schema.hook
    def map_body(context, body):
        return _integral_floats_as_integers(body)

    return schema


def test_schema_lists_exactly_these_operations(api_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests(api_schema, live_server, method, path):
    operation = api_schema[path][method]
    statuses: list[int] = []
    excluded = [positive_data_acceptance] if (method, path) in FREE_TEXT_BODIES else []

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(base_url=live_server.url, timeout=120, excluded_checks=excluded)
        statuses.append(response.status_code)

    run()
    assert statuses and max(statuses) < 500


def test_negative_requests_never_get_a_5xx(api_schema, live_server):
    for method, path in OPERATIONS[:6]:
        operation = api_schema[path][method]

        @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
        @settings(max_examples=max(5, MAX_EXAMPLES // 2), deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(base_url=live_server.url, timeout=120, checks=[not_a_server_error])

        run()
