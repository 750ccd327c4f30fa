"""The photographer's `so:` keywords (planning/keywords.py) never reach a caption: no hashtag,
nothing in the template's `keywords` (publishers/captions.py)."""

from __future__ import annotations

from socialomega.publishers.captions import build_caption, hashtag, ranked_hashtags, x_weighted_length

TAGGED = {"title": "Frost", "keywords": ["so:only:x", "So:Caption:x:Hi", "golden hour", "SO:crop:top", "elbe"]}


def test_so_keywords_would_make_hashtags_if_not_left_out():
    assert hashtag("so:only:x") == "#SoOnlyX"  # so the tests below can fail


def test_a_photo_tagged_so_only_and_so_caption_gets_no_so_hashtag():
    assert build_caption("x", TAGGED).text == "Hi"  # X's own caption (so:caption:x), as written
    for platform in ("instagram", "facebook", "linkedin", "rest"):
        caption = build_caption(platform, TAGGED)
        assert caption.hashtags == ("#GoldenHour", "#elbe"), platform
        assert "#so" not in caption.text.lower(), platform
        assert "so:" not in caption.text.lower(), platform


def test_ranked_hashtags_leave_out_so_keywords():
    assert ranked_hashtags(TAGGED) == ["#GoldenHour", "#elbe"]


def test_the_templates_keywords_hold_no_so_keyword():
    target = {"caption_template": "{{ keywords | join('|') }} / {{ hashtags }}"}
    caption = build_caption("facebook", TAGGED, target)
    assert caption.text == "golden hour|elbe / #GoldenHour #elbe"


def test_a_caption_override_replaces_the_template_for_its_target_only():
    metadata = {
        "title": "Dunes",
        "description": "Evening light",
        "keywords": ["desert", "so:caption:x:Golden hour in the dunes", "so:caption:instagram:On Instagram only"],
    }
    x = build_caption("x", metadata, {"name": "x"})
    assert (x.text, x.hashtags) == ("Golden hour in the dunes", ())
    assert build_caption("instagram", metadata, {"name": "insta-main"}).text == "On Instagram only"  # by platform
    facebook = build_caption("facebook", metadata, {"name": "facebook"})
    assert "Dunes" in facebook.text and "#desert" in facebook.text.lower()  # no override: the template


def test_a_caption_override_longer_than_the_platform_allows_is_shortened():
    metadata = {"keywords": ["so:caption:x:" + "word " * 100]}
    text = build_caption("x", metadata, {"name": "x"}).text
    assert x_weighted_length(text) <= 280 and text.endswith("…")
