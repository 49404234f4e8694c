"""Keys derived from SECRET_KEY for one purpose each, so none of them is the secret itself."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings


def derived_key(purpose: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).digest()


def quarantine_hash_key() -> bytes:
    """Keys the hash that replaces restricted and PII values in quarantined rows."""
    return derived_key("mesh.quarantine.hash")


def secrets_key() -> bytes:
    """Keys the encryption of stored connection secrets (Fernet: AES-128-CBC + HMAC-SHA256).

    `SECRETS_KEY` (32 url-safe base64 bytes, `Fernet.generate_key()`) when set, so that the
    secrets survive a change of SECRET_KEY; otherwise derived from SECRET_KEY.
    """
    configured = getattr(settings, "SECRETS_KEY", "")
    if configured:
        return configured.encode()
    return base64.urlsafe_b64encode(derived_key("mesh.connection.secrets"))
