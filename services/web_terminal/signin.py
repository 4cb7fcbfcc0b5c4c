"""Signed-in browsers: a token exchanged once for a random cookie, kept in memory, bounded per user.

The token itself is checked against the registry's digest (``access_tokens.matches``) and then
forgotten; the cookie names an entry here that remembers the user and the digest it was checked
against. Every use re-reads the user's digest, so ``revoke-token`` (or a new token) signs out every
browser of that user at once. Cookies are HttpOnly and SameSite=Strict: page scripts cannot read
them and other sites cannot send them, so a cross-site page cannot open a terminal.
"""

import hmac
import secrets
import time
from collections import OrderedDict

import attrs

COOKIE = b"web_terminal_session"


@attrs.frozen
class SignIn:
    user: str
    digest: str  # the token digest the user signed in with
    expires: float


class SignIns:
    """Cookie -> SignIn, at most ``per_user`` per user (the oldest is dropped)."""

    def __init__(self, per_user: int, lifetime: float, clock=time.monotonic) -> None:
        self.per_user = per_user
        self.lifetime = lifetime
        self.clock = clock
        self._entries: OrderedDict[str, SignIn] = OrderedDict()

    def add(self, user: str, digest: str) -> str:
        mine = [cookie for cookie, entry in self._entries.items() if entry.user == user]
        for cookie in mine[: max(0, len(mine) - self.per_user + 1)]:
            del self._entries[cookie]
        cookie = secrets.token_urlsafe(32)
        self._entries[cookie] = SignIn(user, digest, self.clock() + self.lifetime)
        return cookie

    def find(self, cookie: bytes | None) -> SignIn | None:
        """The sign-in a cookie names, if it is known and not expired."""
        if not cookie:
            return None
        entry = self._entries.get(cookie.decode("ascii", "replace"))
        if entry is None:
            return None
        if entry.expires < self.clock():
            self.forget(cookie)
            return None
        return entry

    def forget(self, cookie: bytes | None) -> None:
        if cookie:
            self._entries.pop(cookie.decode("ascii", "replace"), None)

    @staticmethod
    def still_valid(entry: SignIn, current_digest: str | None) -> bool:
        """Whether the user's token is still the one they signed in with."""
        return current_digest is not None and hmac.compare_digest(entry.digest, current_digest)
