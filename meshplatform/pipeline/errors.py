"""The two ways a pipeline step fails, which decide what happens to the run."""

from __future__ import annotations


class StepFailed(Exception):
    """A problem the product's team must fix (bad SQL, a missing file root, a wrong schema):
    the run fails with this message and is not retried."""


class SourceUnavailable(Exception):
    """A source could not be reached (network, a restarting database): retried with backoff."""
