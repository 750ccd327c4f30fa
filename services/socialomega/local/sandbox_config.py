"""The configuration that points a local stack at the sandbox: SSM values and secrets.

Used by the demo and by the integration tests, and handed to `terraform/envs/local` as
variables, so the same Terraform that writes real settings in AWS writes these locally.
The sandbox credentials are fixed, public test values, not secrets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def lightroom_settings(lightroom_url: str) -> dict[str, Any]:
    return {"base_url": lightroom_url, "album": "Publish", "keyword": "", "rendition": "2048"}


def targets(rest_url: str) -> list[dict[str, Any]]:
    host = urlsplit(rest_url).hostname
    return [
        {   # JSON body from the default template; the image travels as a presigned S3 URL.
            "name": "rest", "platform": "rest", "spec": {},
            "endpoint": {"url": f"{rest_url}/v1/posts", "mode": "json",
                         "auth": {"type": "api_key", "header": "X-Api-Key"},
                         "allowed_hosts": [host], "allow_private_network": True, "timeout_seconds": 5},
        },
        {   # Multipart upload of the image itself, OAuth2 client-credentials auth.
            "name": "gallery", "platform": "rest", "spec": {"max_width": 1600, "max_height": 1600},
            "endpoint": {"url": f"{rest_url}/v1/media", "mode": "multipart",
                         "auth": {"type": "oauth2_client_credentials", "token_url": f"{rest_url}/oauth/token"},
                         "body_template": '{"title": {{ title | tojson }}, "caption": {{ caption | tojson }}, '
                                          '"keywords": {{ keywords | tojson }}}',
                         "allowed_hosts": [host], "allow_private_network": True, "timeout_seconds": 5},
        },
    ]


def secrets(credentials: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "lightroom": {"client_id": credentials["lightroom_api_key"], "access_token": credentials["lightroom_token"]},
        "rest": {"api_key": credentials["rest_api_key"]},
        "gallery": {"client_id": credentials["oauth_client_id"], "client_secret": credentials["oauth_client_secret"]},
    }
