"""Fixtures shared by the suites that run the pipeline (integration, containers): each of
those directories provides its own `stack`, and pytest resolves it per test."""

import pytest

from socialomega.core import aws
from socialomega.core.store import MetadataStore


@pytest.fixture(scope="module")
def store(stack) -> MetadataStore:
    """The metadata store (S3) of the stack under test."""
    return MetadataStore(aws.client("s3"), stack["service_env"]["SO_STORE_BUCKET"])
