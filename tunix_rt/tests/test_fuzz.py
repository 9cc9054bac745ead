"""Schema-driven fuzzing: every operation answers as its OpenAPI schema says, and never with a 5xx.

Schemathesis generates requests from ``/api/schema`` (its coverage cases, then random
ones with a fixed seed, then stateful sequences) and sends them, authenticated with a
token, straight to the WSGI application inside the test transaction, on whichever
database the suite runs on. ``make fuzz`` runs the same checks far longer against a
real server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tunix_rt.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("TUNIX_RT_FUZZ_EXAMPLES", "6"))
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# Schemathesis calls the WSGI application as host "localhost".
with override_settings(ALLOWED_HOSTS=["localhost"]):
    schema = schemathesis.openapi.from_wsgi("/api/schema", application)


@pytest.fixture
def auth_headers(user: Any, settings: Any) -> Iterator[dict[str, str]]:
    """A token for the test user; requests keep the test's connection, as Django's test client does.

    Calling the WSGI handler directly sends ``request_finished``, whose handler would close a
    PostgreSQL connection that is inside the test transaction.
    """
    settings.ALLOWED_HOSTS = ["localhost"]
    token, _ = Token.objects.get_or_create(user=user)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Token {token.key}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_to_its_schema(case: Any, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=auth_headers, checks=CHECKS)


@pytest.mark.django_db
def test_stateful_sequences_conform_to_the_schema(auth_headers: dict[str, str]) -> None:
    """Chains operations along the links schemathesis finds (create, then read, change, delete what it made)."""
    base: Any = schema.as_state_machine()

    class Workflow(base):
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth_headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        Workflow,
        settings=hypothesis_settings(FUZZ_SETTINGS, max_examples=EXAMPLES * 2, stateful_step_count=6),
    )
