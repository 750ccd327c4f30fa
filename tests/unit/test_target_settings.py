"""Target settings refuse typos: every platform's model is closed, the key is named, at config
load (a publisher building its target) and before Terraform runs (platforms.check)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from socialomega import platforms
from socialomega.core.config import ConfigError
from socialomega.platforms import check

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
