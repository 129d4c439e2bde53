"""Every error of the API has one JSON body, {"detail", "rule"} (plus "errors" for invalid input),
whoever answers it: a rule refusal, DRF (400, 401, 403, 404, 405, 415, 429), Django's URL
resolver (an id that is not a number), django-axes' log-in lock-out, or a server error."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Organization
from core.api import field_errors
from subscriptions.models import MembershipServiceScope
from tests.factories import PASSWORD, member

pytestmark = pytest.mark.django_db

REFUSED = (
    "The e-mail address or the password is not correct, or log-in is paused after too many attempts: "
    "try again in 15 minutes."
)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_id_that_is_not_a_number_answers_the_json_404_of_the_api() -> None:
    # given a customer
    legal = member()

    # when they ask for an Organization, a Service and a path under /api/ that match no pattern
    answers = [
        api(legal.user).get(path)
        for path in (
            "/api/v1/organizations/abc/",
            f"/api/v1/organizations/{legal.organization_id}/services/-1/",
            "/api/v1/no-such-thing/",
        )
    ]

    # then each is the API's 404, not Django's page
    assert [(a.status_code, a["Content-Type"], a.json()) for a in answers] == [
        (404, "application/json", {"detail": "Not found.", "rule": None}),
    ] * 3


def test_invalid_input_answers_400_with_the_messages_by_field() -> None:
    # given a customer
    legal = member()

    # when they invite someone with no e-mail address and a role that does not exist
    answer = api(legal.user).post(
        f"/api/v1/organizations/{legal.organization_id}/members/", {"role": "king"}, format="json"
    )

    # then the body says what is wrong with which field, and nobody was invited
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "Invalid input.",
        "rule": None,
        "errors": {"email": ["This field is required."], "role": ['"king" is not a valid choice.']},
    }
    assert legal.organization.invitations.count() == 0


def test_field_errors_flatten_nested_and_listed_fields() -> None:
    detail = {
        "contact": {"street": ["Too long."], "non_field_errors": ["Incomplete."]},
        "service_ids": {0: ["A valid integer is required."]},
        "lines": [{}, {"amount": ["Too big."]}],
        "non_field_errors": ["Nothing to do."],
    }

    assert field_errors(detail) == {
        "contact.street": ["Too long."],
        "contact.non_field_errors": ["Incomplete."],
        "service_ids.0": ["A valid integer is required."],
        "lines.1.amount": ["Too big."],
        "non_field_errors": ["Nothing to do."],
    }
    assert field_errors(["Choose one."]) == {"non_field_errors": ["Choose one."]}


def test_drf_errors_answer_detail_and_a_null_rule() -> None:
    # given a customer
    legal = member()
    url = f"/api/v1/organizations/{legal.organization_id}/"

    # when they call without credentials, with a method the endpoint lacks, and with a body type it
    # does not read
    anonymous = APIClient().get(url)
    wrong_method = api(legal.user).delete(url)
    wrong_type = api(legal.user).patch(url, b"<city/>", content_type="application/xml")

    # then each answers its status with the API's error body
    assert (anonymous.status_code, anonymous.json()) == (
        401,
        {"detail": "Authentication credentials were not provided.", "rule": None},
    )
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"detail": 'Method "DELETE" not allowed.', "rule": None},
    )
    assert (wrong_type.status_code, wrong_type.json()) == (
        415,
        {"detail": 'Unsupported media type "application/xml" in request.', "rule": None},
    )
    assert Organization.objects.get().city == legal.organization.city


def test_a_rule_refusal_answers_its_rule() -> None:
    # given a technical member, who may not invite (ORG-5)
    technical = member("technical")

    # when they invite someone
    answer = api(technical.user).post(
        f"/api/v1/organizations/{technical.organization_id}/members/",
        {"email": "new@example.com", "role": "technical"},
        format="json",
    )

    # then the refusal names the rule, and nobody was invited
    assert answer.status_code == 403
    assert answer.json()["rule"] == "ORG-5"
    assert set(answer.json()) == {"detail", "rule"}
    assert technical.organization.invitations.count() == 0


def test_a_wrong_password_for_a_token_answers_the_error_body() -> None:
    legal = member()

    answer = APIClient().post("/api/v1/auth/token/", {"email": legal.user.email, "password": "wrong"}, format="json")

    assert (answer.status_code, answer.json()) == (400, {"detail": REFUSED, "rule": None})


def test_a_locked_out_log_in_answers_the_error_body_of_a_wrong_password_on_the_api() -> None:
    # given a customer whose token requests failed as often as django-axes allows
    legal = member()
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"email": legal.user.email, "password": "wrong"}, format="json")

    # when they try again, even with the right password
    answer = client.post("/api/v1/auth/token/", {"email": legal.user.email, "password": PASSWORD}, format="json")

    # then the lock-out is the API's JSON body, the very answer of a wrong password (ASVS 6.3.1, issue 14)
    assert (answer.status_code, answer["Content-Type"]) == (400, "application/json")
    assert answer.json() == {"detail": REFUSED, "rule": None}


def test_a_server_error_under_the_api_answers_json(monkeypatch) -> None:
    # given a customer, and a bug in the endpoint they call
    legal = member()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("accounts.selectors.organizations_for_user", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(legal.user)

    # when they call it
    answer = client.get("/api/v1/organizations/")

    # then the answer is a JSON 500 with the API's error body
    assert (answer.status_code, answer["Content-Type"]) == (500, "application/json")
    assert answer.json() == {"detail": "A server error occurred.", "rule": None}


def test_an_id_no_object_can_have_is_invalid_input() -> None:
    # given a Legal Responsible and a member of theirs, limited to no Service
    legal = member()
    technical = member("technical", organization=legal.organization)

    # when they limit the member to a Service id beyond any 64-bit id (SQLite cannot even compare it)
    answer = api(legal.user).put(
        f"/api/v1/organizations/{legal.organization_id}/members/{technical.pk}/services/",
        {"service_ids": [2**70]},
        format="json",
    )

    # then it is refused as invalid input, and the member is still limited to nothing
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "detail": "Invalid input.",
            "rule": None,
            "errors": {"service_ids.0": ["Ensure this value is less than or equal to 9223372036854775807."]},
        },
    )
    assert MembershipServiceScope.objects.count() == 0
