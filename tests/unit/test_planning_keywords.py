"""The photographer's `so:` keywords and the inbox sidecar's `publish` object (planning/keywords.py),
and the inbox intake carrying that object to the photo's metadata (poller/sources.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialomega.core import zones
from socialomega.planning import keywords
from socialomega.planning.keywords import (
    MAX_CAPTION_CHARS,
    MAX_CHOICES,
    MAX_PROBLEMS,
    PhotoPlan,
    plan_from,
    publishing_keywords,
)
from socialomega.poller.sources import MAX_PUBLISH_BYTES, S3InboxSource
from tests.unit.fakes import MemoryBlobs

TARGETS = [("ig-main", "instagram"), ("ig-backup", "instagram"), ("x", "x"), ("fb", "facebook")]


def plan(*words: str, publish: object = None, **extra: object) -> PhotoPlan:
    metadata: dict[str, object] = {"keywords": list(words), **extra}
    if publish is not None:
        metadata["publish"] = publish
    return plan_from(metadata)


def problem_about(result: PhotoPlan, *fragments: str) -> str:
    """The one problem that mentions every fragment."""
    found = [p for p in result.problems if all(f in p for f in fragments)]
    assert len(found) == 1, result.problems
    return found[0]


# --- no choices -----------------------------------------------------------------------------------


def test_a_photo_without_so_keywords_has_the_empty_plan():
    result = plan("golden hour", "sony")
    assert result == PhotoPlan()
    assert result.choose(TARGETS) == (["ig-main", "ig-backup", "x", "fb"], {})
    assert plan_from({}) == PhotoPlan()


# --- targets ------------------------------------------------------------------------------------------


def test_only_by_platform_selects_every_target_of_that_platform():
    chosen, left_out = plan("so:only:instagram").choose(TARGETS)
    assert chosen == ["ig-main", "ig-backup"]
    assert left_out == {"x": "not in so:only (instagram)", "fb": "not in so:only (instagram)"}


def test_only_by_target_name_selects_that_target():
    chosen, _ = plan("so:only:ig-backup").choose(TARGETS)
    assert chosen == ["ig-backup"]


def test_only_repeats_and_comma_lists_add_up_and_keep_the_targets_order():
    result = plan("so:only:x", "so:only: fb , ig-main")
    assert result.only == frozenset({"x", "fb", "ig-main"})
    chosen, left_out = result.choose(TARGETS)
    assert chosen == ["ig-main", "x", "fb"]
    assert left_out == {"ig-backup": "not in so:only (fb, ig-main, x)"}


def test_skip_by_name_and_by_platform_names_the_keyword_that_left_it_out():
    chosen, left_out = plan("so:skip:ig-backup", "so:skip:facebook").choose(TARGETS)
    assert chosen == ["ig-main", "x"]
    assert left_out == {"ig-backup": "so:skip:ig-backup", "fb": "so:skip:facebook"}


def test_skip_refines_only_without_a_problem():
    result = plan("so:only:instagram", "so:skip:ig-backup")
    assert result.choose(TARGETS)[0] == ["ig-main"]
    assert result.problems == ()


def test_only_and_skip_naming_the_same_target_skip_wins_with_a_problem():
    result = plan("so:only:x", "so:only:fb", "so:skip:x")
    chosen, left_out = result.choose(TARGETS)
    assert chosen == ["fb"]
    assert left_out["x"] == "so:skip:x"
    problem_about(result, '"so:skip:x"', '"so:only:x"', "so:skip wins")


def test_keywords_are_case_insensitive():
    result = plan("SO:ONLY:Instagram", "So:Skip:IG-Backup", "sO:cRoP:ATTENTION", "SO:NEXT")
    assert result.only == frozenset({"instagram"})
    assert result.skip == frozenset({"ig-backup"})
    assert result.crop == "attention"
    assert result.next_slot is True
    assert result.choose([("IG-Main", "Instagram")]) == (["IG-Main"], {})


def test_an_invalid_only_value_is_a_problem_and_the_valid_ones_apply():
    result = plan("so:only:x,Insta gram!")
    assert result.only == frozenset({"x"})
    problem_about(result, '"insta gram!"', "not a target or platform name")


def test_an_only_without_any_valid_value_still_restricts_so_nothing_is_published():
    # A post cannot be taken back: a broken restriction must not publish everywhere.
    result = plan("so:only:")
    assert result.only == frozenset()
    chosen, left_out = result.choose(TARGETS)
    assert chosen == []
    assert left_out["x"] == "not in so:only (no valid value)"
    problem_about(result, "so:only needs a target or platform name")


def test_target_problems_report_names_that_match_no_configured_target_or_platform():
    result = plan("so:only:instagarm", "so:only:x", "so:skip:tiktok", "so:caption:mastodon:Hi", "so:caption:fb:Hi")
    problems = result.target_problems(TARGETS)
    assert len(problems) == 3
    assert problems[0].startswith("so:only names instagarm:")
    assert "ig-main (instagram)" in problems[0]
    assert problems[1].startswith("so:skip names tiktok:")
    assert problems[2].startswith("so:caption names mastodon:")
    assert plan("so:only:instagram", "so:skip:fb").target_problems(TARGETS) == []


# --- when ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-05 09:00", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("2026-12-05T09:00", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("2026-12-05t09:00:30", datetime(2026, 12, 5, 9, 0, 30, tzinfo=UTC)),
        ("2026-12-5 9:00", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("2026-12-05T09:00Z", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
        ("2026-12-05T09:00+01:00", datetime(2026, 12, 5, 8, 0, tzinfo=UTC)),
        ("2026-12-05T09:00+0100", datetime(2026, 12, 5, 8, 0, tzinfo=UTC)),
        ("2026-12-05 09:00 +01", datetime(2026, 12, 5, 8, 0, tzinfo=UTC)),
        ("2026-12-05T09:00-05:30", datetime(2026, 12, 5, 14, 30, tzinfo=UTC)),
        ("2026-12-05 09:00 Europe/Berlin", datetime(2026, 12, 5, 8, 0, tzinfo=UTC)),
        ("2026-07-05 09:00 Europe/Berlin", datetime(2026, 7, 5, 7, 0, tzinfo=UTC)),  # summer time
        ("2026-12-05 09:00 europe/berlin", datetime(2026, 12, 5, 8, 0, tzinfo=UTC)),
        ("2026-12-05 09:00 America/New_York", datetime(2026, 12, 5, 14, 0, tzinfo=UTC)),
        ("2026-12-05 09:00 UTC", datetime(2026, 12, 5, 9, 0, tzinfo=UTC)),
    ],
)
def test_at_forms(value, expected):
    result = plan(f"so:at:{value}")
    assert result.problems == ()
    assert result.at == expected
    assert result.at is not None and result.at.utcoffset() is not None and result.at.tzinfo is UTC
    assert result.next_slot is False


def test_at_without_zone_or_offset_is_in_the_default_zone():
    result = plan_from({"keywords": ["so:at:2026-12-05 09:00"]}, default_zone="Europe/Berlin")
    assert result.at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    # A zone on the keyword wins over the default.
    result = plan_from({"keywords": ["so:at:2026-12-05 09:00 Asia/Tokyo"]}, default_zone="Europe/Berlin")
    assert result.at == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-02-30 09:00", "not a real date and time"),
        ("2026-12-05 25:00", "not a real date and time"),
        ("2026-12-05", "not a date and time"),
        ("tomorrow 9am", "not a date and time"),
        ("05.12.2026 09:00", "not a date and time"),
        ("2026-12-05 09:00 Mars/Olympus", '"Mars/Olympus" is not a time-zone name'),
        ("2026-12-05 09:00 Europe", '"Europe" is not a time-zone name'),
        ("2026-12-05T09:00+25:00", "+25:00 is not an offset from UTC"),
        ("9999-12-31 23:59 -12:00", "not a real date and time"),  # past datetime's range in UTC
        ("2026-12-05 09:00 Europe/" + "A" * 100, "too long"),
    ],
)
def test_an_unreadable_at_is_a_problem_that_says_what_is_valid_and_the_rest_applies(value, fragment):
    result = plan(f"so:at:{value}", "so:crop:south", "so:only:x")
    assert result.at is None
    problem = problem_about(result, fragment)
    assert problem.startswith('keyword "so:at:')
    if fragment != "too long":
        assert "so:at:2026-12-05 09:00" in problem or "Europe/Berlin" in problem  # what would be right
    assert result.crop == "south"
    assert result.only == frozenset({"x"})


def test_an_unknown_default_zone_is_a_problem_only_for_an_at_without_zone():
    result = plan_from({"keywords": ["so:at:2026-12-05 09:00"]}, default_zone="Nowhere/Town")
    assert result.at is None
    problem_about(result, "default one cannot be used", "Nowhere/Town")
    result = plan_from({"keywords": ["so:at:2026-12-05 09:00+01:00"]}, default_zone="Nowhere/Town")
    assert result.at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert result.problems == ()


def test_a_time_the_clocks_skip_is_moved_forward_and_reported():
    result = plan("so:at:2026-03-29 02:30 Europe/Berlin")
    assert result.at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    problem_about(result, "does not exist in Europe/Berlin", "read as 03:30")


def test_a_time_that_happens_twice_is_the_first_one():
    result = plan("so:at:2026-10-25 02:30 Europe/Berlin")
    assert result.at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, before the change
    assert result.problems == ()


def test_without_a_time_zone_database_a_zone_name_is_a_problem_and_offsets_still_work(monkeypatch):
    def no_database(key: str) -> object:
        raise zones.zoneinfo.ZoneInfoNotFoundError(key)

    zones.resolve.cache_clear()
    monkeypatch.setattr(zones.zoneinfo, "ZoneInfo", no_database)
    monkeypatch.setattr(zones, "_names", dict)
    try:
        result = plan("so:at:2026-12-05 09:00 Europe/Berlin")
        assert result.at is None
        problem_about(result, "no time-zone database", "+01:00")
        assert plan("so:at:2026-12-05 09:00+01:00").at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
        assert plan("so:at:2026-12-05 09:00 UTC").at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
        assert plan("so:at:2026-12-05 09:00").at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # default UTC
    finally:
        zones.resolve.cache_clear()


def test_next():
    result = plan("so:next")
    assert result.next_slot is True and result.at is None
    assert plan("so:next:").next_slot is True
    result = plan("so:next:tomorrow")
    assert result.next_slot is False
    problem_about(result, "so:next takes no value")


def test_two_different_times_the_first_wins_and_the_second_is_reported():
    result = plan("so:at:2026-12-05 09:00", "so:at:2026-12-06 10:00")
    assert result.at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    problem_about(result, '"so:at:2026-12-06 10:00"', 'conflicts with keyword "so:at:2026-12-05 09:00"')


def test_the_same_moment_written_twice_is_no_conflict():
    result = plan("so:at:2026-12-05 09:00+01:00", "so:at:2026-12-05 08:00Z", "so:at:2026-12-05 09:00 Europe/Berlin")
    assert result.at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert result.problems == ()


def test_at_and_next_exclude_each_other_the_first_wins():
    result = plan("so:next", "so:at:2026-12-05 09:00")
    assert result.next_slot is True and result.at is None
    problem_about(result, '"so:at:2026-12-05 09:00"', 'conflicts with keyword "so:next"')
    result = plan("so:at:2026-12-05 09:00", "so:next")
    assert result.next_slot is False and result.at is not None


# --- crop -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "anchor"),
    [
        ("centre", "centre"),
        ("center", "centre"),
        ("attention", "attention"),
        ("north", "north"),
        ("top", "north"),
        ("south", "south"),
        ("bottom", "south"),
        ("east", "east"),
        ("right", "east"),
        ("west", "west"),
        ("left", "west"),
        (" Top ", "north"),
    ],
)
def test_crop_anchors_and_their_synonyms(word, anchor):
    result = plan(f"so:crop:{word}")
    assert result.crop == anchor
    assert result.problems == ()


def test_an_unknown_crop_anchor_is_a_problem_naming_the_valid_ones():
    result = plan("so:crop:middle", "so:skip:x")
    assert result.crop is None
    problem = problem_about(result, '"middle" is not a crop anchor')
    assert "centre, attention, north, south, east or west" in problem
    assert result.skip == frozenset({"x"})


def test_two_different_crops_the_first_wins_the_same_twice_is_fine():
    result = plan("so:crop:top", "so:crop:north", "so:crop:left")
    assert result.crop == "north"
    problem_about(result, '"so:crop:left"', "conflicts with", '"so:crop:top"')


# --- captions ---------------------------------------------------------------------------------------


def test_caption_keeps_its_text_colons_and_capitals_and_its_key_is_lower_case():
    result = plan("so:caption:X:Frost: finally.  ", "so:caption:instagram:Winter light")
    assert result.captions == {"x": "Frost: finally.", "instagram": "Winter light"}


def test_caption_for_a_target_wins_over_its_platform():
    result = plan("so:caption:instagram:For every Instagram", "so:caption:ig-backup:Only the backup")
    assert result.caption_for("ig-backup", "instagram") == "Only the backup"
    assert result.caption_for("ig-main", "instagram") == "For every Instagram"
    assert result.caption_for("IG-Main", "Instagram") == "For every Instagram"
    assert result.caption_for("fb", "facebook") is None


@pytest.mark.parametrize(
    ("word", "fragment"),
    [
        ("so:caption:x", "write so:caption:<target or platform>:<text>"),
        ("so:caption::Hello", '"" is not a target or platform name'),
        ("so:caption:x:   ", "the caption is empty"),
        ("so:caption:my target:Hi", '"my target" is not a target or platform name'),
    ],
)
def test_a_malformed_caption_is_a_problem(word, fragment):
    result = plan(word, "so:crop:east")
    assert result.captions == {}
    problem_about(result, fragment)
    assert result.crop == "east"


def test_two_different_captions_for_one_key_the_first_wins():
    result = plan("so:caption:x:First", "so:caption:X:Second", "so:caption:x:First")
    assert result.captions == {"x": "First"}
    problem_about(result, '"so:caption:X:Second"', "conflicts with", '"so:caption:x:First"')


def test_a_caption_longer_than_2200_characters_is_cut_and_reported():
    result = plan(publish={"captions": {"instagram": "word " * 600}})
    assert len(result.captions["instagram"]) <= MAX_CAPTION_CHARS
    assert result.captions["instagram"].startswith("word word")
    problem_about(result, "2,999 characters", "cut to 2,200")  # 600 words, stripped


def test_a_keyword_as_long_as_the_poller_keeps_may_have_lost_its_end():
    word = "so:caption:x:" + "a" * (256 - len("so:caption:x:"))
    result = plan(word)
    assert result.captions == {"x": "a" * 243}
    problem_about(result, "256 characters long", "sidecar")


# --- unknown words, bounds --------------------------------------------------------------------------


def test_an_unknown_so_keyword_is_a_problem_listing_the_vocabulary():
    result = plan("so:schedule:monday", "so:", "so:only:x")
    assert result.only == frozenset({"x"})
    problem = problem_about(result, '"so:schedule:monday"', "not a SocialOmega keyword")
    assert "so:only, so:skip, so:at, so:next, so:crop, so:caption" in problem
    problem_about(result, 'keyword "so:"')


def test_at_most_50_so_keywords_are_read():
    words = [f"so:skip:t{i}" for i in range(MAX_CHOICES + 10)]
    result = plan(*words, "so:crop:top")
    assert result.skip == frozenset(f"t{i}" for i in range(MAX_CHOICES))
    assert result.crop is None  # the 61st so: keyword
    problem_about(result, f"{MAX_CHOICES + 11} so: keywords", f"first {MAX_CHOICES}")


def test_the_sidecar_shares_the_budget_after_the_keywords():
    words = [f"so:skip:t{i}" for i in range(MAX_CHOICES - 1)]
    result = plan(*words, publish={"skip": ["u1", "u2", "u3"], "crop": "top"})
    assert "u1" in result.skip and "u2" not in result.skip
    assert result.crop is None
    problem_about(result, f"more than {MAX_CHOICES} choices")


def test_problems_are_capped_with_a_count_of_the_rest():
    result = plan(*[f"so:crop:bad{i}" for i in range(40)])
    assert len(result.problems) == MAX_PROBLEMS
    assert result.problems[-1] == f"and {40 - MAX_PROBLEMS + 1} more problems"


def test_a_long_keyword_is_quoted_shortened_in_its_problem():
    result = plan("so:crop:" + "m" * 200)
    assert all(len(p) < 400 for p in result.problems)
    assert "\u2026" in result.problems[0]


# --- the sidecar's publish object ----------------------------------------------------------------


def test_sidecar_fields_add_to_keywords():
    result = plan(
        "so:only:x",
        publish={
            "only": ["instagram"],
            "skip": "ig-backup",
            "at": "2026-12-05 09:00 Europe/Berlin",
            "next": False,
            "crop": "Attention",
            "captions": {"X": "Hello", "instagram": "Hi"},
        },
    )
    assert result.problems == ()
    assert result.only == frozenset({"x", "instagram"})
    assert result.skip == frozenset({"ig-backup"})
    assert result.at == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert result.crop == "attention"
    assert dict(result.captions) == {"x": "Hello", "instagram": "Hi"}
    assert result.choose(TARGETS)[0] == ["ig-main", "x"]


def test_sidecar_next_true_and_empty_values_mean_no_choice():
    assert plan(publish={"next": True}).next_slot is True
    assert plan(publish={"only": [], "skip": [], "captions": {}, "next": False}) == PhotoPlan()


def test_a_keyword_wins_over_a_different_sidecar_value():
    result = plan("so:crop:top", "so:caption:x:Keyword", publish={"crop": "bottom", "captions": {"x": "Sidecar"}})
    assert result.crop == "north"
    assert result.captions == {"x": "Keyword"}
    problem_about(result, 'sidecar publish.crop "bottom"', 'conflicts with keyword "so:crop:top"')
    problem_about(result, "sidecar publish.captions.x", 'conflicts with keyword "so:caption:x:Keyword"')


@pytest.mark.parametrize(
    ("publish", "fragment"),
    [
        ({"only": 3}, "publish.only: must be a list of target or platform names"),
        ({"skip": ["x", 1]}, "publish.skip: must be a list"),
        ({"at": 1733389200}, "publish.at: must be a string"),
        ({"next": "yes"}, "publish.next: must be true or false, not a string"),
        ({"crop": None}, "publish.crop: must be one of centre"),
        ({"captions": ["x", "Hi"]}, "publish.captions: must be an object of captions"),
        ({"captions": {"x": 1}}, "publish.captions.x: must be a string"),
        ({"when": "now"}, "publish.when: not a publish field; the fields are only, skip, at, next, crop, captions"),
        ("instagram", "sidecar publish: must be a JSON object"),
    ],
)
def test_a_malformed_sidecar_field_is_a_problem_and_the_others_apply(publish, fragment):
    result = plan_from({"keywords": ["so:crop:west"], "publish": publish})
    problem_about(result, fragment)
    assert result.crop == "west"
    if isinstance(publish, dict) and "skip" not in publish:  # a valid sidecar field beside the bad one
        assert plan_from({"publish": {**publish, "skip": ["fb"]}}).skip == frozenset({"fb"})


def test_what_the_intake_could_not_take_from_the_sidecar_is_reported():
    result = plan("so:only:x", publish_problem="is 40,000 bytes of JSON; at most 32,768 are read")
    assert result.only == frozenset({"x"})
    assert result.problems == ("sidecar publish: is 40,000 bytes of JSON; at most 32,768 are read",)


# --- everything together ---------------------------------------------------------------------------


def test_as_dict_is_json_ready():
    result = plan_from({"keywords": ["so:only:instagram", "so:skip:ig-backup", "so:caption:x:Hi", "so:x"]})
    data = json.loads(json.dumps(result.as_dict()))
    assert data == {
        "only": ["instagram"],
        "skip": ["ig-backup"],
        "at": None,
        "next_slot": False,
        "crop": None,
        "captions": {"x": "Hi"},
        "problems": [result.problems[0]],
    }
    dated = plan("so:at:2026-12-05 09:00+01:00").as_dict()
    assert dated["at"] == "2026-12-05T08:00:00+00:00"
    assert PhotoPlan().as_dict()["only"] is None


def test_a_plan_is_immutable():
    result = plan("so:caption:x:Hi")
    with pytest.raises(TypeError):
        result.captions["x"] = "changed"  # type: ignore[index]
    assert hash(result) == hash(plan("so:caption:x:Other"))  # captions are not hashed


def test_publishing_keywords_leave_out_every_so_keyword():
    words = ["golden hour", "so:only:x", " SO:crop:top", "So:", "sony", "so", "soap:bubbles", "also:so:"]
    assert publishing_keywords(words) == ["golden hour", "sony", "so", "soap:bubbles", "also:so:"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
so_words = st.builds(
    lambda directive, value: f"so:{directive}:{value}",
    st.sampled_from(["only", "skip", "at", "next", "crop", "caption", "ONLY", "zz", ""]),
    st.text(max_size=60) | st.sampled_from(["2026-12-05 09:00 Europe/Berlin", "x:Hi", "top", "x,fb"]),
)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(so_words | st.text(max_size=30) | st.integers(), max_size=60),
    publish=json_values | st.dictionaries(st.sampled_from(keywords.SIDECAR_FIELDS), json_values),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "not a zone", ""]),
)
def test_plan_from_never_raises_and_its_plan_is_well_formed(words, publish, zone):
    result = plan_from({"keywords": words, "publish": publish}, default_zone=zone)
    assert all(isinstance(p, str) and p for p in result.problems)
    assert len(result.problems) <= MAX_PROBLEMS
    assert result.at is None or result.at.tzinfo is UTC
    assert result.crop in (None, "centre", "attention", "north", "south", "east", "west")
    assert all(len(text) <= MAX_CAPTION_CHARS for text in result.captions.values())
    json.dumps(result.as_dict())
    result.choose(TARGETS)
    result.target_problems(TARGETS)


# --- the inbox intake carries the sidecar's publish object ------------------------------------------


def inbox_metadata(sidecar: object) -> dict[str, object]:
    blobs = MemoryBlobs("raw", {"inbox/frost.jpg": b"\xff\xd8", "inbox/frost.json": json.dumps(sidecar).encode()})
    (photo,) = S3InboxSource(blobs).candidates({})
    return photo.metadata


def test_the_inbox_sidecar_publish_object_reaches_the_photo_metadata_and_its_plan():
    publish = {"only": ["x"], "at": "2026-12-05 09:00", "captions": {"x": "Frost"}}
    metadata = inbox_metadata({"title": "Frost", "keywords": ["winter", "so:crop:top"], "publish": publish})
    assert metadata["publish"] == publish
    assert "publish_problem" not in metadata
    result = plan_from(metadata)
    assert result.problems == ()
    assert (result.only, result.crop, result.captions) == (frozenset({"x"}), "north", {"x": "Frost"})


def test_a_sidecar_without_publish_adds_nothing():
    metadata = inbox_metadata({"title": "Frost", "publish": None})
    assert "publish" not in metadata and "publish_problem" not in metadata


@pytest.mark.parametrize(
    ("publish", "fragment"),
    [
        (["x"], "must be a JSON object, not a list"),
        ({"captions": {"x": {"nested": "deep"}}}, "'captions' must be a text, number or true/false, or a list"),
        ({"only": [["x"]]}, "'only' must be"),
        ({"captions": {"x": "a" * MAX_PUBLISH_BYTES}}, "bytes of JSON; at most 32,768 are read"),
    ],
)
def test_a_sidecar_publish_that_cannot_travel_is_left_out_and_reported(publish, fragment):
    metadata = inbox_metadata({"title": "Frost", "keywords": ["so:only:x"], "publish": publish})
    assert "publish" not in metadata
    assert fragment in str(metadata["publish_problem"])
    result = plan_from(metadata)
    assert result.only == frozenset({"x"})
    problem_about(result, "sidecar publish:", fragment)
