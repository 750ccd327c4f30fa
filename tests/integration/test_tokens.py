"""The token keeper on LocalStack against the sandbox's platform fakes: Instagram and LinkedIn
tokens near expiry are refreshed into Secrets Manager by the scheduled keeper (the local
runtime's `token-keeper` schedule, the same handler the Lambda runs), X's rotating pair is left
to its publisher, publishing keeps working with the new tokens once the old ones expire, and an
expired token that cannot be refreshed is reported `expired` with its reason, in the result and
in its EMF metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.core import store as keys
from socialomega.sandbox import instagram as ig_fake
from socialomega.sandbox import linkedin as li_fake
from tests.conftest import wait_idle

pytestmark = pytest.mark.integration
DAY = 86400


def secret(stack: dict[str, Any], name: str) -> dict[str, Any]:
    prefix = stack["service_env"]["SO_SECRET_PREFIX"]
    value = aws.client("secretsmanager").get_secret_value(SecretId=f"{prefix}/{name}")["SecretString"]
    return dict(json.loads(value))


def put_secret(stack: dict[str, Any], name: str, value: dict[str, Any]) -> None:
    prefix = stack["service_env"]["SO_SECRET_PREFIX"]
    aws.client("secretsmanager").put_secret_value(SecretId=f"{prefix}/{name}", SecretString=json.dumps(value))
    config.clear_caches()


def lines_by_target(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["target"]: line for line in result["targets"]}


@pytest.fixture(scope="module")
def kept(sandbox, stack, runtime, first_run) -> Iterator[dict[str, Any]]:  # noqa: ARG001 - after the first posts
    """Instagram's and LinkedIn's tokens expire in 3 days; then the keeper's scheduled run."""
    instagram, linkedin = sandbox.social["instagram"], sandbox.social["linkedin"]
    before = {name: secret(stack, name) for name in ("instagram", "linkedin", "x")}
    instagram.set_token_expiry(3 * DAY)
    linkedin.set_token_expiry(3 * DAY)
    result = runtime.run_schedule("token-keeper")
    yield {"result": result, "before": before}


def test_tokens_near_expiry_are_refreshed_into_their_secrets(sandbox, stack, kept):
    lines = lines_by_target(kept["result"])
    for name in ("instagram", "linkedin"):
        assert lines[name]["action"] == "refreshed", lines[name]
        assert lines[name]["status"] == "ok" and lines[name]["days_left"] > 59, lines[name]
    instagram, linkedin = secret(stack, "instagram"), secret(stack, "linkedin")
    # A new token the fake issued (instagram-tall, on the same account, got one of its own too).
    assert instagram["access_token"] in sandbox.social["instagram"].issued
    assert instagram["access_token"] != kept["before"]["instagram"]["access_token"]
    assert lines["instagram-tall"]["action"] == "refreshed"
    assert (instagram["app_id"], instagram["app_secret"]) == (ig_fake.APP_ID, ig_fake.APP_SECRET)  # kept
    assert linkedin["access_token"] == sandbox.social["linkedin"].current_token != li_fake.ACCESS_TOKEN
    assert linkedin["refresh_token"] == li_fake.REFRESH_TOKEN and linkedin["refresh_token_expires_at"] > 0
    # Nothing else was due: the Page token never expires, the REST targets have none.
    assert lines["facebook"]["status"] == "never_expires" and lines["facebook"]["action"] == "not_refreshable"
    assert "rest" not in lines and kept["result"]["unhealthy"] == []


def test_the_keeper_never_spends_x_s_rotating_refresh_token(stack, kept):
    line = lines_by_target(kept["result"])["x"]
    assert (line["status"], line["action"], line["days_left"], line["unhealthy"]) == ("ok", "not_due", None, False)
    assert "refresh grant present" in line["detail"]
    assert secret(stack, "x") == kept["before"]["x"]  # its publisher renews the pair on use, nobody else


def test_publishing_works_with_the_refreshed_tokens_after_the_old_ones_expire(sandbox, stack, runtime, store, kept):
    instagram, linkedin = sandbox.social["instagram"], sandbox.social["linkedin"]
    old_ig, old_li = kept["before"]["instagram"]["access_token"], kept["before"]["linkedin"]["access_token"]
    with instagram.lock:
        instagram.app.tokens[old_ig].expired = True
    with linkedin.lock:
        linkedin.access_tokens[old_li]["expires"] = linkedin.clock() - 1
    photo = next(p for p in sandbox.selected_photos() if not p.corrupt)
    version = sandbox.edit_photo(photo.id, title="After the token keeper ran")
    before = {p: len(sandbox.social_posts(p)) for p in ("instagram", "linkedin")}
    runtime.run_schedule("poller")  # (or the runtime's own schedule, if it came first)
    wait_idle(runtime)
    for platform in ("instagram", "linkedin"):
        record = store.get(keys.publication_key(photo.id, version, platform)).data
        assert record["status"] == "published", (platform, record.get("error") or record.get("last_error"))
        assert len(sandbox.social_posts(platform)) == before[platform] + 1


def test_an_expired_token_that_cannot_be_refreshed_is_reported_with_its_reason_and_metrics(
    sandbox, stack, runtime, capsys
):
    linkedin = sandbox.social["linkedin"]
    stored = secret(stack, "linkedin")
    put_secret(stack, "linkedin", {k: v for k, v in stored.items() if k != "refresh_token"})  # not an MDP partner
    with linkedin.lock:
        current = linkedin.current_token
        expires = linkedin.access_tokens[current]["expires"]
    linkedin.set_token_expiry(-2 * DAY)
    try:
        capsys.readouterr()
        result = runtime.run_schedule("token-keeper")
        printed = capsys.readouterr().out
    finally:
        put_secret(stack, "linkedin", stored)
        with linkedin.lock:
            linkedin.access_tokens[current]["expires"] = expires

    line = lines_by_target(result)["linkedin"]
    assert (line["status"], line["action"], line["refreshable"], line["unhealthy"]) == (
        "expired",
        "not_refreshable",
        False,
        True,
    )
    assert "LinkedIn says the token expired" in line["detail"] and "authorise the app again" in line["detail"]
    assert result["unhealthy"] == ["linkedin"]
    metrics = [
        doc
        for doc in (json.loads(text) for text in printed.splitlines() if text.startswith('{"_aws"'))
        if doc.get("Target") == "linkedin"
    ]
    assert len(metrics) == 1, printed
    [directive] = metrics[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SocialOmega" and directive["Dimensions"] == [["Target"]]
    assert metrics[0]["TokenUnhealthy"] == 1.0 and -2.1 < metrics[0]["TokenDaysLeft"] < -1.9
    assert stored["access_token"] not in printed and li_fake.CLIENT_SECRET not in printed
