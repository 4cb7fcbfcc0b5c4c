"""What the log-safety tests look for in a worker's output: its host keys' secrets, in any spelling.

A key can reach a log as Conch's ``Key`` repr (colon-separated hex, 15 bytes a line), as hex, as
Python bytes reprs, as decimal integers (RSA) or as base64 (the key file, the private blob: the
secret at each of base64's three alignments). Only the private parts are looked for, never the
public ones a log may rightly hold. The search is by overlapping windows, so a truncated or
line-wrapped copy is found too.
"""

import base64
import re
from pathlib import Path

import attrs
from twisted.conch.ssh import keys

_WINDOW = 12  # bytes: 96 bits, which no log line holds by chance
_NOT_HEX = re.compile(r"[^0-9a-f]")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _windows(text: str, size: int, step: int) -> set[str]:
    return {text[start : start + size] for start in range(0, max(len(text) - size, 0) + 1, step)}


def _secrets(key: keys.Key) -> list[int | bytes]:
    data = key.data()
    if key.type() == "Ed25519":
        return [data["k"]]
    return [data[name] for name in ("d", "p", "q", "u")]  # RSA


@attrs.frozen
class Secrets:
    """Windows of every spelling of the private parts of the key files in a directory."""

    hex: frozenset[str]
    decimal: frozenset[str]
    verbatim: frozenset[str]

    @classmethod
    def of(cls, directory: Path) -> "Secrets":
        hex_, decimal, verbatim = set(), set(), set()
        for path in sorted(directory.iterdir()):
            if path.suffix == ".pub":
                continue
            key = keys.Key.fromFile(str(path))
            for secret in _secrets(key):
                raw = secret if isinstance(secret, bytes) else secret.to_bytes((secret.bit_length() + 7) // 8)
                hex_ |= _windows(raw.hex(), 2 * _WINDOW, 8)
                if isinstance(secret, int):
                    decimal |= _windows(str(secret), 30, 10)
                verbatim |= _windows(repr(raw)[2:-1], 24, 8)
                for shift in range(3):  # the last group also encodes what follows: left out
                    verbatim |= _windows(base64.b64encode(raw[shift:]).decode()[:-4], 24, 8)
        return cls(frozenset(hex_), frozenset(decimal), frozenset(verbatim))

    def found_in(self, text: str) -> list[str]:
        """The windows of secret that ``text`` holds (in any spelling); empty when none."""
        hex_text, digits = _NOT_HEX.sub("", text.lower()), _NOT_DIGIT.sub("", text)
        found = [window for window in self.hex if window in hex_text]
        found += [window for window in self.decimal if window in digits]
        unescaped = text.replace("\\\\", "\\")  # a repr of a repr
        found += [window for window in self.verbatim if window in text or window in unescaped]
        return found
