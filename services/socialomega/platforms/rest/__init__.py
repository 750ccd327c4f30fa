"""The generic REST target (endpoint, auth and body from the target's configuration).

No platform limits: captions up to 10,000 characters (a template may use fewer), images of
2048 px on the long edge and effectively any aspect ratio.
"""

from socialomega.platforms.base import MB, CaptionRules, Platform

PLATFORM = Platform(
    name="rest",
    package=__name__,
    caption=CaptionRules(10000),
    spec={
        "min_aspect": 1 / 10,
        "max_aspect": 10.0,
        "max_width": 2048,
        "max_height": 2048,
        "max_bytes": 10 * MB,
        "quality": 85,
    },
)
