"""The OpenAPI contract is true: every operation of /api/schema/, called with data its schema
describes and with data it forbids, answers what the schema documents — no server error, a
documented status code, a documented content type, and a body that matches the documented schema,
errors included (core.api: {"detail", "rule"}, plus "errors" for invalid input).

A bounded schemathesis run: all operations, a fixed seed, a few examples each, against the Django
WSGI application in this process (no live server), as the demo customer of seed_demo — with a
ticket, an SLA claim, a card, an open invitation and a ready statement added — authenticated by token,
on a fixed date (the clock ticks from 20 March 2026, so the answers do not change with the day). Each call runs
in a savepoint rolled back after it, so every call meets the same data whatever the ones before did.
"""

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import DocumentVersion, Membership, User
from accounts.services import member_invite
from accounts.tokens import token_issue
from billing.models import AddOn, Invoice
from billing.services.means import means_add_card
from exports.services import export_build, export_statement_request
from sla.models import Claim, Incident
from subscriptions.models import Service
from support.attachments import Upload
from support.models import Attachment
from support.services import ticket_open
from tests.support.helpers import PNG

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
SEED = 20260320
# Examples per operation: valid data with the customer's own ids in the path (reaching the views'
# work), valid data with any ids (mostly 404), invalid data with the customer's own ids (an invalid
# body or query: 400) and invalid data anywhere (an id that is not a number: 404). About 400 calls.
VALID_OWN, VALID_ANY, INVALID_OWN, INVALID_ANY = 3, 1, 2, 1
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_as_its_openapi_schema_documents(settings) -> None:
    # given the demo customer, their data and a token
    ids = customer_data(settings)
    token, key = token_issue(user=User.objects.get(pk=ids.pop("user")), now=NOW)
    ids["token_id"] = token.pk
    headers = {"Authorization": f"Token {key}"}
    app = WSGIHandler()
    with one_connection(), time_machine.travel(NOW, tick=True):
        schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
        operations = [result.ok() for result in schema.get_all_operations()]

        # when every operation is called with generated data
        failures = [failure for operation in operations for failure in run(operation, ids=ids, headers=headers)]

    # then none answered a server error or anything its schema does not document
    assert len(operations) == 87
    assert not failures, "\n".join(failures)


def run(operation: schemathesis.APIOperation, *, ids: dict[str, int], headers: dict[str, str]) -> list[str]:
    """Call `operation` with a few generated cases of each kind; what the checks find wrong."""
    mine = {parameter.name: ids[parameter.name] for parameter in operation.path_parameters if parameter.name in ids}
    has_input = bool(operation.body) or bool(operation.query)
    plan = [
        (GenerationMode.POSITIVE, mine, VALID_OWN),
        (GenerationMode.POSITIVE, None, VALID_ANY if mine else 0),
        (GenerationMode.NEGATIVE, mine, INVALID_OWN if has_input else 0),
        (GenerationMode.NEGATIVE, None, INVALID_ANY if mine or has_input else 0),
    ]
    failures: list[str] = []
    for mode, path_parameters, examples in plan:
        if not examples:
            continue
        strategy = operation.as_strategy(mode, path_parameters=path_parameters or None)

        @hypothesis.seed(SEED)
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            cache.clear()  # the token endpoint's throttle counts per client address
            with transaction.atomic():
                response = case.call(headers=headers)
                transaction.set_rollback(True)
            try:
                case.validate_response(response, checks=CHECKS)
            except (Failure, FailureGroup) as found:
                for failure in found.exceptions if isinstance(found, FailureGroup) else [found]:
                    failures.append(
                        f"{operation.label} {case.path_parameters or ''} -> {response.status_code} "
                        f"{response.headers.get('content-type')}: {failure.title}: {failure.message[:300]}"
                    )

        call()
    return failures


def customer_data(settings: Any) -> dict[str, int]:
    """seed_demo's customer with a ticket carrying an attachment, an SLA claim, a card and an open
    invitation; the ids of their objects, so that most calls reach past the 404 of a guessed id."""
    with time_machine.travel(NOW, tick=False):
        settings.DEBUG = True  # seed_demo runs only in the embedded demo
        call_command("seed_demo", stdout=io.StringIO())
        settings.DEBUG = False
        legal = Membership.objects.select_related("organization", "user").get(user__email="demo@example.com")
        organization, user = legal.organization, legal.user
        service = Service.objects.get(organization=organization, status=Service.Status.ACTIVE)
        ticket = ticket_open(
            organization=organization,
            user=user,
            kind="technical",
            subject="Slow deploys",
            body="Deploys take minutes.",
            language="en",
            service=service,
            attachments=[Upload(file=io.BytesIO(PNG), name="screen.png")],
            now=NOW,
        )
        incident = Incident.objects.get(external_id="demo-sla-a-12min")
        claim_ticket = ticket_open(
            organization=organization,
            user=user,
            kind="sla_claim",
            subject="Outage",
            body="Our cluster was unreachable.",
            language="en",
            service=service,
            claim_start=incident.started_at,
            claim_end=incident.resolved_at,
            now=NOW,
        )
        card = means_add_card(
            organization=organization,
            user=user,
            number="4242424242424242",
            exp_month=12,
            exp_year=2030,
            cvc="123",
            make_default=True,
            now=NOW,
        )
        invitation = member_invite(
            organization=organization, user=user, email="new@example.com", role="technical", now=NOW
        )
        statement = export_statement_request(
            organization_id=organization.pk, user=user, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 19), now=NOW
        )
        export_build(export_id=statement.pk, now=NOW)
    return {
        "user": user.pk,
        "org_id": organization.pk,
        "member_id": Membership.objects.exclude(pk=legal.pk).get(organization=organization).pk,
        "service_id": service.pk,
        "invoice_id": Invoice.objects.filter(organization=organization).order_by("pk").first().pk,
        "means_id": card.pk,
        "version_id": DocumentVersion.objects.order_by("pk").first().pk,
        "incident_id": incident.pk,
        "invitation_id": invitation.pk,
        "ticket_id": ticket.pk,
        "attachment_id": Attachment.objects.get(message__ticket=ticket).pk,
        "claim_id": Claim.objects.get(ticket=claim_ticket).pk,
        "export_id": statement.pk,  # a ready statement (a personal export's paths answer 404 to its id)
        "add_on_id": AddOn.objects.order_by("pk").first().pk,  # seed_demo's public IP (BIL-8)
    }


@contextmanager
def one_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection around each request, and the test's
    transaction lives on it: keep it open, as django.test.Client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
