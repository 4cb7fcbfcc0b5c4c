"""The ``supervisor`` command's entry point, outside the ``supervisor`` package on purpose.

``supervisor`` is also the import name of supervisord (PyPI's ``supervisor``). With both in one
environment, the one installed last owns ``supervisor/__init__.py``; with supervisord earlier on
``sys.path``, its package hides this one. Either way ``import supervisor.cli`` would fail with an
ImportError, or run the wrong code. This module, which supervisord cannot overwrite, looks first
and says what happened in one line, with the fix.
"""

import gc
import sys

DISTRIBUTION = "graph-supervisor"


def main() -> int:
    clash = name_clash()
    if clash is not None:
        sys.stderr.write(f"graph-supervisor: {clash}\n")
        return 2
    from supervisor.cli import main as run_command

    status = run_command()
    # The process ends here, with what is still alive (modules, caches: tens of thousands of
    # objects after lint of a large graph) alive until then. Frozen, the collector's passes at
    # exit leave them to the teardown that frees them anyway (30 ms of a 1 s lint). Only here,
    # at the end of the process: callers of supervisor.cli.main in a process that goes on (tests)
    # keep a collector that collects.
    gc.freeze()
    return status


def name_clash() -> str | None:
    """What is wrong when ``import supervisor`` is not this distribution's package, else None."""
    try:
        import supervisor
    except ImportError as error:  # nothing, or a package whose own imports fail
        where, cause = None, str(error)
    else:
        if getattr(supervisor, "__distribution__", None) == DISTRIBUTION:
            return None
        where, cause = getattr(supervisor, "__file__", None), None
    fix = (
        f"pip uninstall supervisor, then pip install --force-reinstall {DISTRIBUTION}; "
        "keep supervisord in an environment of its own"
    )
    if _supervisord_installed():
        return (
            f"the `supervisor` package{f' at {where}' if where else ''} is not graph-supervisor's: "
            f"supervisord (PyPI's `supervisor`) uses the same import name and has replaced or hidden it. Fix: {fix}"
        )
    return f"the `supervisor` package is not graph-supervisor's ({cause or where}). Fix: {fix}"


def _supervisord_installed() -> bool:
    from importlib import metadata

    try:
        metadata.distribution("supervisor")
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
