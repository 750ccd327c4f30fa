"""Caption fitting at the edges: cuts at word and character boundaries, X weights at the cut,
URLs, hashtag dropping order, and the input caps (captions.py)."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from socialomega.publishers import captions
from socialomega.publishers.captions import (
    ELLIPSIS,
    FIELD_HARD_CAP,
    FIELD_NON_SPACE_CAP,
    MAX_KEYWORD_CHARS,
    MAX_KEYWORDS,
    RULES,
    alt_text,
    build_caption,
    ranked_hashtags,
    x_weighted_length,
)

# --- shortening ---------------------------------------------------------------------------------


def test_a_word_longer_than_the_limit_is_cut_at_a_character():
    caption = build_caption("instagram", {"title": "x" * 5000})
    assert caption.text == "x" * 2199 + ELLIPSIS


def test_a_long_word_after_short_ones_is_dropped_whole():
    caption = build_caption("instagram", {"title": "short " + "y" * 5000})
    assert caption.text == "short" + ELLIPSIS


def test_the_cut_is_at_the_last_space_that_leaves_room_for_the_ellipsis():
    words = " ".join(["word"] * 1000)  # 4,999 characters
    text = build_caption("linkedin", {"description": words}).text
    assert len(text) <= 3000 and text.endswith("word" + ELLIPSIS)
    assert text == words[: words.rfind(" ", 0, 3000)] + ELLIPSIS


def test_x_emoji_at_the_cut_weigh_two():
    text = build_caption("x", {"title": "\U0001f600" * 200}).text
    assert text == "\U0001f600" * 139 + ELLIPSIS  # 278 + 2 (U+2026 is heavy too); one more is 282
    assert x_weighted_length(text) == 280


def test_x_a_heavy_character_that_would_cross_the_limit_is_left_out():
    text = build_caption("x", {"title": "a" * 278 + "\u4e2d" + "b" * 10}).text
    assert text == "a" * 278 + ELLIPSIS  # 278 + 2; with the CJK character 282


def test_x_cjk_words_are_cut_at_a_word_boundary():
    text = build_caption("x", {"title": "\u4e2d\u6587 " * 100}).text
    assert text == " ".join(["\u4e2d\u6587"] * 55) + ELLIPSIS  # 4 * 55 + 54 + 2 = 276; 56 words: 281
    assert x_weighted_length(text) == 276


def test_x_a_url_at_the_cut_counts_23_and_is_kept_whole():
    url = "https://example.com/" + "p" * 200
    title = " ".join(["ab"] * 85) + " " + url + " end"  # 254 + 1 + 23 + 4 = 282
    text = build_caption("x", {"title": title}).text
    assert text == " ".join(["ab"] * 85) + " " + url + ELLIPSIS
    assert x_weighted_length(text) == 278


def test_x_a_url_that_does_not_fit_is_dropped_whole():
    title = " ".join(["ab"] * 90) + " https://example.com/path more"  # 269 + 1 + 23 + 5
    text = build_caption("x", {"title": title}).text
    assert text == " ".join(["ab"] * 90) + ELLIPSIS


def test_alt_text_is_cut_at_a_word_or_a_character():
    assert alt_text({"description": "a" * 400_000}) == "a" * 999 + ELLIPSIS
    assert alt_text({"description": "b " * 2000}) == " ".join(["b"] * 500) + ELLIPSIS
    assert alt_text({"title": "  spaced\n\n out  "}) == "spaced out"


@pytest.mark.parametrize("limit", [-5, 1, 2, 3])
@pytest.mark.parametrize("platform", ["instagram", "x"])
def test_tiny_or_negative_limits_are_still_respected(platform, limit):
    caption = build_caption(platform, {"title": "hello world"}, {"caption_max_length": limit})
    measure = x_weighted_length if platform == "x" else len
    assert measure(caption.text) <= max(limit, 1)
    assert caption.text in ("", ELLIPSIS, "h" + ELLIPSIS, "he" + ELLIPSIS)


# --- the X measure --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("a.b.com.evil", 23 + 5),  # the domain ends at the last label that starts with a TLD
        ("example.community", 23 + 6),  # no boundary needed after the TLD
        ("a.www.x", 2 + 23),
        ("\u00e9a.b.com", 3 + 23),
        ("see https://example.com/x, then", 4 + 23 + 6),  # the trailing comma is text, as X counts it
        ("foo-bar.io/path?q=1 x", 23 + 2),
        ("\u4e2d\u6587 \U0001f600 text", 4 + 1 + 2 + 5),
        ("www. x", 6),
    ],
)
def test_x_weighted_length_keeps_its_url_rules(text, weight):
    assert x_weighted_length(text) == weight


def test_x_a_url_longer_than_4096_characters_is_plain_text():
    assert x_weighted_length("https://" + "a" * 4088) == 23  # 4,096 with the protocol
    assert x_weighted_length("https://" + "a" * 4089) == 4097
    assert x_weighted_length("www." + "a" * 4084) == 23  # 4,088 + the https:// X adds
    assert x_weighted_length("www." + "a" * 4085) == 4089


@pytest.mark.parametrize("unit", ["a", ".", "a.", "a-", "-a", "a.b-", "www.", "x.www.", "a.com", "http://"])
def test_x_weighted_length_of_runs_without_spaces(unit):
    text = unit * (20_000 // len(unit))  # was quadratic for several of these
    assert x_weighted_length(text) >= min(23, len(text))


# --- hashtags -------------------------------------------------------------------------------------


def test_hashtags_are_dropped_lowest_ranked_first():
    metadata = {
        "title": "Dune at dawn",
        "description": "d" * 248,
        "keywords": ["sky", "dune", "camel", "sand", "sunrise", "dawn"],
    }
    assert ranked_hashtags(metadata) == ["#dune", "#dawn", "#sky", "#camel", "#sand", "#sunrise"]
    caption = build_caption("x", metadata)  # 12 + 2 + 248 + 2 + 16 = 280 with three tags
    assert caption.hashtags == ("#dune", "#dawn", "#sky")
    assert caption.text.endswith("\n\n#dune #dawn #sky") and x_weighted_length(caption.text) == 280


@pytest.mark.parametrize("room", range(0, 40))
def test_the_kept_hashtags_are_the_longest_ranked_prefix_that_fits(room):
    keywords = [f"tag{i}" for i in range(12)]
    metadata = {"title": "t" * (2200 - 3 - room), "keywords": keywords}
    caption = build_caption("rest", metadata, {"caption_max_length": 2200})
    ranked = ranked_hashtags(metadata)
    kept = len(caption.hashtags)
    assert caption.hashtags == tuple(ranked[:kept])
    assert len(caption.text) <= 2200
    if kept < len(ranked):  # one more would not have fit
        assert len("t" * (2200 - 3 - room) + "\n\n" + " ".join(ranked[: kept + 1])) > 2200


def test_no_hashtag_fits_then_the_text_is_shortened_without_any():
    caption = build_caption("instagram", {"title": "w " * 3000, "keywords": ["dune", "sand"]})
    assert caption.hashtags == () and len(caption.text) <= 2200 and "#" not in caption.text


def test_a_template_without_hashtags_keeps_them_all():
    caption = build_caption("rest", {"title": "t", "keywords": ["a", "b"]}, {"caption_template": "{{ title }}"})
    assert caption.text == "t" and caption.hashtags == ("#a", "#b")


# --- input caps -----------------------------------------------------------------------------------


def test_keywords_are_capped_in_number_and_length():
    keywords = [f"k{i}" for i in range(MAX_KEYWORDS + 100)]
    assert len(build_caption("facebook", {"keywords": keywords}).hashtags) == MAX_KEYWORDS
    long_keyword = "z" * (MAX_KEYWORD_CHARS + 50)
    assert build_caption("facebook", {"keywords": [long_keyword]}).hashtags == ("#" + "z" * MAX_KEYWORD_CHARS,)


def test_a_caption_that_fits_is_not_changed_by_the_caps():
    title = " ".join(["word"] * 12_000)  # 59,999 characters
    assert build_caption("facebook", {"title": title}).text == title
    blank_lines = "a" + "\n" * 200_000 + "b"  # collapsed by rendering: the cap counts no whitespace
    assert build_caption("instagram", {"title": blank_lines}).text == "a\n\nb"
    assert alt_text({"description": " " * 300_000 + "late"}) == "late"


def test_x_fields_keep_what_4096_character_urls_need():
    urls = " ".join("https://" + "a" * 4000 for _ in range(11))  # 44,098 characters, weight 263
    assert build_caption("x", {"title": urls}).text == urls


def test_cap_text_counts_non_whitespace_characters():
    cap = captions._cap_text
    assert cap("a b c d", 2) == "a b"
    assert cap("abc", 5) == "abc"
    assert cap("a" * 10, 4) == "aaaa"
    assert cap("a " * 10_000, 5_000) == "a " * 4_999 + "a"
    assert cap("a" + " " * 50_000 + "bc", 2) == "a" + " " * 50_000 + "b"
    assert cap("\n" * (FIELD_HARD_CAP + 10), 5) == "\n" * FIELD_HARD_CAP
    spread = ("x" + " " * 9) * 20_000  # 200,000 characters, 20,000 of them not spaces
    assert cap(spread, 12_345) == spread[: 12_344 * 10 + 1]
    assert cap(spread, 30_000) == spread


def test_the_cap_grows_with_the_limit():
    assert captions._longest_fitting(280, weighted=False) == 280
    assert captions._longest_fitting(280, weighted=True) > FIELD_NON_SPACE_CAP  # URLs and NFC
    for rules in RULES.values():
        if not rules.weighted:
            assert rules.max_length < FIELD_NON_SPACE_CAP


def test_nfc_composes_at_most_the_assumed_number_of_code_points_into_one():
    # _longest_fitting relies on it: a raw text is at most this many times its NFC length.
    longest = max(
        len(unicodedata.normalize("NFD", ch))
        for ch in map(chr, range(sys.maxunicode + 1))
        if unicodedata.decomposition(ch)[:1] not in ("", "<") and unicodedata.normalize("NFC", ch) == ch
    )
    assert longest == captions._NFC_MAX_COMPOSITION


def test_hashtags_already_in_the_text_count_against_the_platforms_cap():
    """Found by the fault suite: "Harbour #2" titles made Instagram captions with 6 hashtags
    (the keyword tags filled the cap of 5 on their own), and the platform refused them."""
    metadata = {"title": "Harbour #2", "description": "Dusk #blue", "keywords": [f"kw{i}" for i in range(10)]}
    caption = captions.build_caption("instagram", metadata)
    assert len(caption.hashtags) == 3
    assert len(captions._TEXT_HASHTAG.findall(caption.text)) == 5
    crowded = {"title": " ".join(f"#t{i}" for i in range(7)), "keywords": ["sea"]}
    assert captions.build_caption("instagram", crowded).hashtags == ()  # no room left: none added
