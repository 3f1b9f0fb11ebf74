"""Bearer tokens: the secret read from its file, and the constant-time check both transports make."""

from __future__ import annotations

import hmac
from pathlib import Path

REFUSAL = "missing or invalid bearer token"
"""What a caller without the right token is told (the same words over gRPC and HTTP)."""


def read_secret(path: str) -> str:
    """A secret from a file (trailing whitespace stripped); never logged."""
    return Path(path).read_text(encoding="utf-8").strip()


def bearer_matches(authorization: str, token: bytes) -> bool:
    """True when an ``authorization`` value is ``Bearer <token>`` (scheme case-insensitive, constant-time compare)."""
    scheme, _, sent = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token)
