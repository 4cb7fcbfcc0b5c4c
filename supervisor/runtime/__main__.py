"""``python -m supervisor.runtime``: the long-lived supervisor process, exec'd by ``supervisor run``.

``run`` lints with the whole toolset loaded, then execs this in the same pid (PID 1 stays PID 1),
so the process that lives as long as the graph carries neither the linter nor networkx nor the
views (about 20 MB less resident). It reads the exact bytes that were linted from an inherited
memfd, so a graph file edited in between cannot slip past lint.

Not meant to be called by hand: ``RUNTIME_FD PATH RUNTIME_DIR LOG_FORMAT [DISABLED...]``.
"""

import os
import sys
from pathlib import Path

from supervisor.loader import load_bytes
from supervisor.runtime.log import Log
from supervisor.runtime.main import run_graph


def main(argv: list[str]) -> int:
    fd, path, runtime_dir, log_format, *disabled = argv
    with os.fdopen(int(fd), "rb") as linted:
        graph = load_bytes(linted.read(), path).graph
    return run_graph(graph, frozenset(disabled), Path(runtime_dir), Log(log_format))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
