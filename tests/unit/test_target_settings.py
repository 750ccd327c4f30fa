"""Target settings refuse typos: every platform's model is closed, the key is named, at config
load (a publisher building its target) and before Terraform runs (platforms.check); and each
target's longest call fits its publisher function (platforms.fit)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from socialomega import platforms
from socialomega.core.config import ConfigError
from socialomega.platforms import check, fit

GOOD = {
    "instagram": {"name": "ig", "platform": "instagram", "ig_user_id": "17841400000000"},
    "x": {"name": "x-main", "platform": "x", "daily_cap": 17},
    "facebook": {"name": "fb", "platform": "facebook", "page_id": "104857600000001"},
    "linkedin": {"name": "li", "platform": "linkedin", "author": "urn:li:person:abc123"},
    "rest": {
        "name": "portfolio",
        "platform": "rest",
        "endpoint": {"url": "https://api.example.com/v1/posts"},
        "caption_template": "{{ title }}",
        "max_hashtags": 3,
        "spec": {"max_width": 1600},
    },
}


@pytest.mark.parametrize("platform", sorted(GOOD))
def test_each_platform_takes_its_own_and_the_common_keys(platform):
    platforms.get(platform).settings(GOOD[platform])
    assert check.problems([GOOD[platform]]) == []


@pytest.mark.parametrize(
    "platform, typo",
    [
        ("instagram", "ig_user"),
        ("x", "dailycap"),
        ("facebook", "page_idd"),
        ("linkedin", "linkedin_verison"),
        ("rest", "idempotent_retry"),
        ("x", "caption_templte"),
    ],
)
def test_a_misspelt_key_is_refused_with_its_name(platform, typo):
    entry = {**GOOD[platform], typo: "x"}
    with pytest.raises(ConfigError, match=f"{typo}: unknown key"):
        platforms.get(platform).settings(entry)
    assert any(f"{typo}: unknown key" in problem for problem in check.problems([entry]))


def test_a_misspelt_endpoint_or_spec_key_is_named_too():
    rest = {**GOOD["rest"], "endpoint": {"url": "https://api.example.com/v1", "methd": "PUT"}}
    assert any("endpoint.methd: unknown key" in p for p in check.problems([rest]))
    spec = {**GOOD["x"], "spec": {"max_widht": 100}}
    assert any("max_widht" in p for p in check.problems([spec]))


def test_the_check_names_unknown_platforms_and_duplicates_and_exits_1(monkeypatch, capsys):
    entries = [GOOD["x"], {**GOOD["x"]}, {"name": "tt", "platform": "tiktok"}]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(entries)))
    assert check.main() == 1
    out = capsys.readouterr().out
    assert "'x-main' appears twice" in out and "unknown platform 'tiktok'" in out
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"targets": list(GOOD.values())})))
    assert check.main() == 0 and "ok, 5 targets" in capsys.readouterr().out


# --- each target's settings fit its publisher function (platforms/fit.py) -----------------------

DEFAULT_LONGEST_CALL = {"instagram": 25.0, "x": 25.0, "facebook": 65.0, "linkedin": 25.0, "rest": 25.0}


@pytest.mark.parametrize("platform", sorted(GOOD))
def test_every_settings_model_names_its_longest_call(platform):
    settings = platforms.get(platform).settings(GOOD[platform])
    assert settings.longest_call_seconds() == DEFAULT_LONGEST_CALL[platform] == sum(settings.call_timeout())


def test_the_longest_call_follows_the_timeouts_a_target_sets():
    assert platforms.get("x").settings({**GOOD["x"], "timeout_seconds": 3}).longest_call_seconds() == 6.0  # 3 + 3
    facebook = {**GOOD["facebook"], "timeout_seconds": 20, "connect_timeout_seconds": 2}
    assert platforms.get("facebook").settings(facebook).longest_call_seconds() == 22.0
    rest = {**GOOD["rest"], "endpoint": {"url": "https://api.example.com/v1/posts", "timeout_seconds": 8}}
    assert platforms.get("rest").settings(rest).longest_call_seconds() == 13.0
    # An OAuth2 target also asks its token endpoint, with the default (5, 20) timeouts.
    rest["endpoint"]["auth"] = {"type": "oauth2_client_credentials", "token_url": "https://api.example.com/token"}
    assert platforms.get("rest").settings(rest).longest_call_seconds() == 25.0


def test_a_target_whose_call_cannot_fit_the_function_is_named_with_what_would_fit():
    targets = list(GOOD.values())
    [facebook] = fit.unfit_targets(targets, 30)
    assert facebook.startswith("target 'fb' (facebook): one call may take 65 s")
    assert "at most 27 s in all" in facebook and "at least 68 s" in facebook
    assert fit.unfit_targets({"targets": targets}, 68) == []
    short = [{**GOOD["facebook"], "timeout_seconds": 20}, *targets[:1]]
    assert fit.unfit_targets(short, 30) == []
    assert len(fit.unfit_targets(targets, 27)) == 5  # 25 s + the 3 s margin: none fits


def test_entries_that_do_not_validate_are_left_to_the_check():
    entries = [{"name": "tt", "platform": "tiktok"}, {**GOOD["x"], "dailycap": 1}, "nonsense", GOOD["linkedin"]]
    assert fit.longest_calls(entries) == {"li": 25.0} and fit.unfit_targets(entries, 30) == []


def test_the_fit_command_exits_1_and_names_each_unfit_target(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"targets": list(GOOD.values())})))
    assert fit.main(["--function-timeout", "30"]) == 1
    assert capsys.readouterr().out.startswith("check-targets: target 'fb' (facebook): one call may take 65 s")
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(list(GOOD.values()))))
    assert fit.main(["--function-timeout", "90"]) == 0
    assert (
        "ok, every target's longest call fits a 90 s function (ig 25 s, x-main 25 s, fb 65 s" in capsys.readouterr().out
    )
