"""The token keeper's run (socialomega/tokens/keeper.py): one EMF line and one log line per target,
never a token, and its one setting."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from socialomega.core import logging as solog
from socialomega.core import metrics
from socialomega.core.config import ConfigError
from socialomega.sandbox import instagram as ig_fake
from socialomega.sandbox import linkedin as li_fake
from socialomega.sandbox import x as x_fake
from socialomega.sandbox.server import serve
from socialomega.tokens.keeper import KeeperSettings, keep
from tests.unit.test_tokens import Configuration

NOW = datetime.now(UTC)
DAY = 86400


def test_the_keeper_refreshes_what_is_due_and_reports_each_target_in_emf_and_logs():
    ig, li = ig_fake.InstagramFake(), li_fake.LinkedInFake()
    with serve(ig) as ig_url, serve(li) as li_url:
        ig.set_token_expiry(5 * DAY)  # refreshable, due
        li.set_token_expiry(-2 * DAY)  # expired two days ago, and its refresh token is not in the secret
        li_secret = {k: v for k, v in li_fake.sandbox_secret().items() if k != "refresh_token"}
        configuration = Configuration(
            [ig_fake.sandbox_target(ig_url, "ig"), li_fake.sandbox_target(li_url, "li")],
            {"ig": ig_fake.sandbox_secret(), "li": li_secret},
        )
        out = io.StringIO()
        solog.configure()  # before capture_logs, which then replaces its processors
        with capture_logs() as logs:
            lines = keep(
                configuration,
                KeeperSettings(refresh_within_days=14),
                now=NOW,
                emit=lambda *a, **k: metrics.emit(*a, stream=out, **k),
            )

    by_target = {line["target"]: line for line in lines}
    assert (by_target["ig"]["action"], by_target["ig"]["status"], by_target["ig"]["unhealthy"]) == (
        "refreshed",
        "ok",
        False,
    )
    assert (by_target["li"]["status"], by_target["li"]["unhealthy"]) == ("expired", True)
    assert "authorise the app again" in by_target["li"]["detail"]

    emf = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [doc["Target"] for doc in emf] == ["ig", "li"]
    for doc in emf:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "SocialOmega" and directive["Dimensions"] == [["Target"]]
        assert {m["Name"] for m in directive["Metrics"]} == {"TokenDaysLeft", "TokenUnhealthy"}
        assert all(isinstance(doc[m["Name"]], float) for m in directive["Metrics"])
    assert emf[0]["TokenDaysLeft"] > 59 and emf[0]["TokenUnhealthy"] == 0.0
    assert emf[1]["TokenDaysLeft"] < -1.9 and emf[1]["TokenUnhealthy"] == 1.0

    checked = [entry for entry in logs if entry["event"] == "token_checked"]
    assert [(e["target"], e["log_level"]) for e in checked] == [("ig", "info"), ("li", "warning")]
    text = json.dumps(logs, default=str) + out.getvalue()
    for token in (ig_fake.ACCESS_TOKEN, ig.token, li_fake.ACCESS_TOKEN, ig_fake.APP_SECRET, li_fake.CLIENT_SECRET):
        assert token not in text


def test_the_refresh_window_comes_from_the_environment_and_is_checked():
    assert KeeperSettings.from_env({}).refresh_within_days == 14
    assert KeeperSettings.from_env({"SO_TOKEN_REFRESH_WITHIN_DAYS": "20"}).refresh_within_days == 20
    for bad in ("soon", "0", "400"):
        with pytest.raises(ConfigError, match="SO_TOKEN_REFRESH_WITHIN_DAYS"):
            KeeperSettings.from_env({"SO_TOKEN_REFRESH_WITHIN_DAYS": bad})


def test_the_keeper_reports_x_from_its_stored_pair_and_never_spends_its_refresh_token():
    fake = x_fake.XFake()
    with serve(fake) as url:
        # The access token ends in ten minutes: meaningless for the grant, never "expiring".
        secret = {**x_fake.sandbox_secret(), "expires_at": int(NOW.timestamp()) + 600}
        configuration = Configuration([x_fake.sandbox_target(url, "x")], {"x": secret})
        out = io.StringIO()
        [line] = keep(
            configuration,
            KeeperSettings(refresh_within_days=14),
            now=NOW,
            emit=lambda *a, **k: metrics.emit(*a, stream=out, **k),
        )
    assert (line["status"], line["action"], line["days_left"], line["unhealthy"]) == ("ok", "not_due", None, False)
    assert "refresh grant present" in line["detail"] and "the publisher renews" in line["detail"]
    assert configuration.secrets["x"].writes == [] and fake.refresh_tokens.keys() == {x_fake.REFRESH_TOKEN}
    [doc] = [json.loads(text) for text in out.getvalue().splitlines()]
    assert doc["TokenUnhealthy"] == 0.0 and "TokenDaysLeft" not in doc


def test_terraform_grants_the_keeper_what_the_token_domain_does():
    """tokens.tf's platform lists (its IAM: read every kept platform's secret, write only those
    the keeper renews) are the token domain's, restated in HCL: held to the code here."""
    import re
    from pathlib import Path

    from socialomega.tokens import health

    text = (Path(__file__).parents[2] / "terraform/envs/aws/tokens.tf").read_text()

    def listed(name: str) -> set[str]:
        found = re.search(rf"^\s*{name}\s*=\s*\[([^\]]*)\]", text, re.M)
        assert found, name
        return set(re.findall(r'"([a-z]+)"', found.group(1)))

    modules = health._modules()
    assert listed("token_platforms") == set(modules)
    renewed = {name for name, module in modules.items() if health.renews(module)}
    assert listed("token_renewed_platforms") == renewed == {"instagram", "linkedin"}
