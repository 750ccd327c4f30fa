"""X (API v2): the platform's facts.

Sources: ../shared/reference/platform-apis.md.
* Captions: 280 weighted characters (twitter-text: URLs count 23, CJK and emoji 2; see
  `publishers/captions.x_weighted_length`).
* Images: <= 5 MB. The reference gives no pixel or aspect limit; 4096 px on the long edge is
  the largest size X serves ("4K" images), so larger uploads would be downscaled by X anyway.
  The aspect range is our choice (1:4 .. 4:1), wide enough not to crop ordinary photos.
"""

from socialomega.platforms.base import MB, CaptionRules, Platform

PLATFORM = Platform(
    name="x",
    package=__name__,
    webhooks=True,
    # Account Activity: favorites, replies, retweets (x/webhook.py).
    notified=("likes", "comments", "shares"),
    caption=CaptionRules(280, weighted=True),
    spec={
        "min_aspect": 1 / 4,
        "max_aspect": 4.0,
        "max_width": 4096,
        "max_height": 4096,
        "max_bytes": 5 * MB,
        "quality": 85,
    },
)
