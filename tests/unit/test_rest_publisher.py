"""The generic REST publisher's request building and response handling (fake transport)."""

import base64
import json

import pytest
import requests
from jinja2.exceptions import SecurityError

from socialomega.platforms.rest import publisher as rest
from socialomega.platforms.rest.publisher import InvalidTargetConfig, RestEndpoint, RestPublisher, render_body
from socialomega.publishers.base import PublishRequest
from tests.unit.fakes import MemoryProgress


class FakeSession:
    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests = []

    def _respond(self, method, url, **kwargs):
        self.requests.append((method, url, kwargs))
        item = self.responses.pop(0)
        if isinstance(item, Exception):
            raise item
        status, body = item
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
        return response

    def request(self, method, url, **kwargs):
        return self._respond(method, url, **kwargs)

    def post(self, url, **kwargs):
        return self._respond("POST", url, **kwargs)


class Images:
    def url(self, request, expires_seconds):
        return f"https://s3.example/{request.image_key}?X-Amz-Expires={expires_seconds}"

    def read(self, request):
        return b"\xff\xd8jpeg"


REQUEST = PublishRequest(
    "asset-1",
    "v1",
    "rest",
    "rest",
    "corr",
    "bucket",
    "processed/asset-1/v1/rest.jpg",
    None,
    2048,
    1365,
    "image/jpeg",
    {"title": 'Dune "at dawn"', "description": "Sand", "keywords": ["dune", "dawn"]},
)


def endpoint(**overrides):
    base = {
        "url": "https://api.example.com/v1/posts",
        "allowed_hosts": ["api.example.com"],
        "allow_private_network": True,
    }
    return RestEndpoint.model_validate({**base, **overrides})


def test_json_post_with_api_key_and_idempotency_key():
    session = FakeSession((201, {"id": "p-1"}))
    result = RestPublisher(
        endpoint(auth={"type": "api_key", "header": "X-Api-Key"}), {"api_key": "k"}, session
    ).publish(REQUEST, Images(), MemoryProgress())
    assert result.outcome.ok and result.remote_id == "p-1"
    method, url, kwargs = session.requests[0]
    assert (method, url) == ("POST", "https://api.example.com/v1/posts")
    assert kwargs["headers"]["X-Api-Key"] == "k"
    assert kwargs["headers"]["Idempotency-Key"] == "socialomega:asset-1:v1:rest"
    assert kwargs["json"]["title"] == 'Dune "at dawn"' and kwargs["json"]["keywords"] == ["dune", "dawn"]
    assert kwargs["json"]["image_url"].startswith("https://s3.example/processed/asset-1/v1/rest.jpg")
    assert kwargs["allow_redirects"] is False and kwargs["timeout"][1] == 20.0


def test_basic_and_bearer_auth():
    session = FakeSession((201, {"id": "1"}), (201, {"id": "2"}))
    RestPublisher(endpoint(auth={"type": "basic"}), {"username": "u", "password": "p"}, session).publish(
        REQUEST, Images(), MemoryProgress()
    )
    RestPublisher(endpoint(auth={"type": "bearer"}), {"token": "t"}, session).publish(
        REQUEST, Images(), MemoryProgress()
    )
    assert session.requests[0][2]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert session.requests[1][2]["headers"]["Authorization"] == "Bearer t"


def test_oauth2_client_credentials_token_is_fetched_once_and_reused():
    rest._tokens = rest._TokenCache()
    session = FakeSession((200, {"access_token": "tok", "expires_in": 3600}), (201, {"id": "1"}), (201, {"id": "2"}))
    publisher = RestPublisher(
        endpoint(auth={"type": "oauth2_client_credentials", "token_url": "https://api.example.com/oauth/token"}),
        {"client_id": "c", "client_secret": "s"},
        session,
    )
    publisher.publish(REQUEST, Images(), MemoryProgress())
    publisher.publish(REQUEST, Images(), MemoryProgress())
    assert [r[1] for r in session.requests].count("https://api.example.com/oauth/token") == 1
    assert session.requests[0][2]["data"] == {"grant_type": "client_credentials"}
    assert session.requests[2][2]["headers"]["Authorization"] == "Bearer tok"


def test_a_refused_token_is_reported_with_its_reason():
    rest._tokens = rest._TokenCache()
    session = FakeSession((401, {"error": "invalid_client", "error_description": "unknown client"}))
    result = RestPublisher(
        endpoint(auth={"type": "oauth2_client_credentials", "token_url": "https://api.example.com/t"}),
        {"client_id": "c", "client_secret": "s"},
        session,
    ).publish(REQUEST, Images(), MemoryProgress())
    assert result.outcome.kind == "auth" and result.outcome.code == "token_401"


def test_multipart_sends_the_image_and_rendered_fields():
    session = FakeSession((201, {"data": {"id": 77}}))
    ep = endpoint(mode="multipart", id_field="data.id", body_template='{"title": {{ title | tojson }}, "n": 2}')
    result = RestPublisher(ep, {}, session).publish(REQUEST, Images(), MemoryProgress())
    assert result.remote_id == "77"
    kwargs = session.requests[0][2]
    assert kwargs["data"] == {"title": 'Dune "at dawn"', "n": "2"}
    assert kwargs["files"]["image"] == ("asset-1.jpg", b"\xff\xd8jpeg", "image/jpeg")


@pytest.mark.parametrize(
    "status, body, kind",
    [
        (500, {"error": "boom"}, "retryable"),
        (429, {}, "retryable"),
        (422, {"error": {"message": "title required"}}, "permanent"),
        (201, b"<html>ok</html>", "unknown"),  # accepted but unreadable: do not post again blindly
        (201, {"no_id": True}, "unknown"),
    ],
)
def test_responses_are_classified(status, body, kind):
    result = RestPublisher(endpoint(), {}, FakeSession((status, body))).publish(REQUEST, Images(), MemoryProgress())
    assert result.outcome.kind == kind


def test_timeouts_and_refused_connections():
    assert (
        RestPublisher(endpoint(), {}, FakeSession(requests.ReadTimeout()))
        .publish(REQUEST, Images(), MemoryProgress())
        .outcome.kind
        == "unknown"
    )
    assert (
        RestPublisher(endpoint(), {}, FakeSession(requests.ConnectionError()))
        .publish(REQUEST, Images(), MemoryProgress())
        .outcome.kind
        == "retryable"
    )


def test_destination_outside_the_allow_list_is_refused_before_any_call():
    session = FakeSession()
    result = RestPublisher(endpoint(url="https://other.example/x"), {}, session).publish(
        REQUEST, Images(), MemoryProgress()
    )
    assert result.outcome.kind == "permanent" and result.outcome.code == "unsafe_destination"
    assert session.requests == []


def test_templates_must_render_a_json_object_and_are_sandboxed():
    with pytest.raises(InvalidTargetConfig):
        render_body("[1, 2]", {})
    with pytest.raises(InvalidTargetConfig):
        render_body("{{ title }}", {"title": "not json"})
    with pytest.raises(SecurityError):  # the sandbox blocks attribute access to internals
        render_body("{{ title.__class__.__mro__ }}", {"title": "x"})


def test_missing_secret_field_is_a_config_error():
    with pytest.raises(InvalidTargetConfig, match="api_key"):
        RestPublisher(endpoint(auth={"type": "api_key"}), {}, FakeSession()).publish(
            REQUEST, Images(), MemoryProgress()
        )


def test_only_targets_without_idempotency_mark_the_final_call_for_lookup():
    progress = MemoryProgress()
    safe = RestPublisher(endpoint(), {}, FakeSession((201, {"id": "p1"})))
    assert safe.retry_is_safe
    safe.publish(REQUEST, Images(), progress)
    assert progress.final_marker is None
    unsafe = RestPublisher(endpoint(), {}, FakeSession(requests.ReadTimeout()), idempotent_retries=False)
    assert not unsafe.retry_is_safe
    assert unsafe.publish(REQUEST, Images(), progress).outcome.kind == "unknown"
    assert progress.final_marker == {"idempotency_key": REQUEST.idempotency_key}
    assert unsafe.find_post(REQUEST, progress).state == "undecided"
