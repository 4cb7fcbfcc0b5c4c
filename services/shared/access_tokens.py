"""The web terminal's sign-in tokens: made once, kept only as a digest, compared in constant time.

A token is ``USER:SECRET`` with 32 random bytes of secret, so the web terminal finds the user's
stored digest without searching, and one paste signs a person in. The registry keeps SHA-256 of
the secret: with that much randomness a slow password hash adds nothing, and a stolen registry
does not give the tokens away. The secret is never logged and never travels in a URL.
"""

import hashlib
import hmac
import secrets

from services.shared.registry_store import NAME

SECRET_BYTES = 32
MAX_LENGTH = 256  # a longer sign-in field is not a token: refused before any work


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user: str) -> tuple[str, str]:
    """A new token for ``user`` and the digest to store."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{user}:{secret}", digest(secret)


def split(token: str) -> tuple[str, str] | None:
    """``(user, secret)`` of a token, or None if it cannot be one."""
    user, colon, secret = token.strip().partition(":")
    if not colon or not secret or len(token) > MAX_LENGTH or not NAME.fullmatch(user):
        return None
    return user, secret


def matches(secret: str, stored_digest: str | None) -> bool:
    """Whether ``secret`` is the token whose digest is stored; constant time in the secret."""
    return stored_digest is not None and hmac.compare_digest(digest(secret), stored_digest)
