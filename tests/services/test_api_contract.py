"""The services' API against its own contract: schemathesis generates requests for every
operation of /api/openapi.json (valid ones from the schemas, and invalid ones), sends them to a
real server and checks that none gets a 5xx and every answer conforms to the document (its
status codes, content types and schemas). Bounded: a few examples per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

TODAY = "2026-09-21"  # the calendar's today: the same bookable days on every run
EXAMPLES = 25  # per operation and mode: the whole test stays well under a minute
NOTHING_TO_NEGATE = ("GET /api/appointments/services", "POST /api/documents/verify")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# The e-document check takes a PDF: a few files of the shapes a client sends (schemathesis has no
# generator for application/pdf). A genuine document is checked in test_records_api.py.
schemathesis.openapi.media_type("application/pdf", st.one_of(
    st.just(b"%PDF-1.4\n%%EOF\n"), st.binary(max_size=512),
    st.binary(max_size=256).map(lambda b: b"%PDF-1.7\n" + b + b"\n%12367-Ed25519-Signature: AA==\n")))


@pytest.fixture(scope="module")
def contract_server(start_module_server):
    # Generous look-up limits: generated identities fail by the dozen, and the 429 they would
    # reach is in the contract anyway.
    return start_module_server(in_process=True, CHAT_APPOINTMENTS_TODAY=TODAY,
                               CHAT_LOOKUP_FAILURES_PER_SESSION="1000",
                               CHAT_LOOKUP_FAILURES_PER_IP="1000")


def operations(server) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_operation_keeps_its_contract(contract_server, mode):
    """Each operation in turn (hypothesis shrinks a failure to its smallest request)."""
    found = operations(contract_server)
    assert len(found) == 12  # offices, appointments (7), the look-up, the document check, guides (2)
    for operation in found:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def keeps_contract(case: schemathesis.Case) -> None:
            # One request per connection: our server closes each after its answer.
            case.call_and_validate(base_url=contract_server.url, checks=CHECKS,
                                   headers={"Connection": "close"})

        try:
            keeps_contract()
        except Unsatisfiable:
            # No invalid request to make: no parameters, and any bytes are a request's PDF.
            assert mode is GenerationMode.NEGATIVE and operation.label in NOTHING_TO_NEGATE
