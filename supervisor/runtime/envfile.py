"""Environment files (``NAME=VALUE`` a line, as Docker Compose's ``env_file`` and systemd's
``EnvironmentFile`` read them): the one reader for ``lint --env-file`` and a service's ``env_file``.

python-dotenv's parser reads them (quotes, escapes, ``export``, comments), so the format is the
one people already write; values are taken as written (no ``${VAR}`` inside them is expanded),
a bare ``NAME`` line sets nothing, and a line that is not an assignment is an error naming it.
"""

import io
from pathlib import Path


class EnvFileError(Exception):
    """The file cannot be read, or a line of it is not ``NAME=VALUE``: the message says which."""


def read_env_file(path: str) -> dict[str, str]:
    """The variables ``path`` sets, in order."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not UTF-8"
        raise EnvFileError(f"{path}: cannot read it ({why})") from None
    from dotenv.parser import parse_stream  # only here: most graphs and lint runs read no env file (5 ms)

    values = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise EnvFileError(f"{path}:{binding.original.line}: not NAME=VALUE: write one assignment a line")
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values
