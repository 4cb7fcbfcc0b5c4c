"""TOML text in, a document (plain dicts and lists) out: the one place graph files are parsed.

The standard library's ``tomllib`` is the reference: its documents and its errors are what lint
reports. It is also slow on large graphs (1.2 s for 10,000 services), so when ``toml_rs`` (Rust's
``toml`` crate, strict TOML 1.0 mode) is installed it parses instead, about fifteen times faster,
giving the same document (tests/test_toml.py compares the two on every TOML file of the project
and on the format's corners). Only the happy path is fast: on any error the text is parsed again
by tomllib, so a syntax finding has tomllib's message, line and column, and a text toml_rs alone
refuses still gets tomllib's document.
"""

import tomllib
from typing import Any

try:
    import toml_rs
except ImportError:  # not installed (a platform it has no wheel for): the standard library alone
    toml_rs = None

TOMLDecodeError = tomllib.TOMLDecodeError
_BOM = "\ufeff"  # toml_rs skips one at the start, tomllib refuses it: tomllib has the say


def parse(text: str) -> dict[str, Any]:
    """The document ``text`` holds; TOMLDecodeError (tomllib's, with its position) if it is not TOML."""
    if toml_rs is not None and not text.startswith(_BOM):
        try:
            return toml_rs.loads(text, toml_version="1.0.0")
        except ValueError:
            pass  # tomllib says what is wrong, and where
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of nested arrays and inline tables
        raise TOMLDecodeError("arrays or inline tables nested too deeply to read (at end of document)") from None
