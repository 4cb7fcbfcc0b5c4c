"""``supervisor diff``: compare two versions of a graph, from files or from git (``REV:PATH``)."""

import os
import subprocess

from supervisor.check.diff import breaks, diff
from supervisor.cli.common import UsageError, add_format_option, load_for_command
from supervisor.cli.output import console
from supervisor.cli.parsers import add_command
from supervisor.graph.loader import Loaded, load_bytes
from supervisor.views.diff import FORMATS, render_github, render_json, render_text
from supervisor.views.findings import render


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "diff",
        run,
        help="compare two versions of a graph and say what the change breaks, per variant",
        description="Compare OLD and NEW (files, or REV:PATH read with `git show` in the current "
        "directory) in the base graph and every profile. Exit 0 if nothing that worked breaks, 1 if "
        "something does (a consumer loses its last provider, an offer or a service stops working, a "
        "new lint error) or a version does not load, 2 for usage errors.",
    )
    for version in ("old", "new"):  # the same kind of argument, each read by load_version
        parser.add_argument(
            version, metavar=version.upper(), help=f"the {version} version: a file or REV:PATH"
        )
    add_format_option(parser, FORMATS, "text")


def _split_revision(spec: str) -> tuple[str, str] | None:
    """``(rev, path)`` when ``spec`` names a git object rather than an existing file."""
    if os.path.exists(spec) or ":" not in spec:
        return None
    rev, path = spec.split(":", 1)
    return (rev, path) if rev and path else None


def load_version(spec: str) -> Loaded:
    """Load a file, or ``git show REV:PATH``; UsageError with git's own reason if that fails."""
    revision = _split_revision(spec)
    if revision is None:
        return load_for_command(spec)
    try:
        shown = subprocess.run(["git", "show", spec], capture_output=True, check=False)
    except OSError as error:
        raise UsageError(f"{spec}: cannot run git ({error.strerror})") from None
    if shown.returncode != 0:
        reason = shown.stderr.decode(errors="replace").strip() or f"git show exited {shown.returncode}"
        raise UsageError(f"{spec}: {reason}")
    return load_bytes(shown.stdout, spec)


def annotation_file(spec: str) -> str:
    """The path GitHub annotations need: PATH of ``REV:PATH``, else the file as given."""
    revision = _split_revision(spec)
    return os.path.normpath(revision[1]) if revision else spec


def run(args) -> int:
    old, new = load_version(args.old), load_version(args.new)
    out = console()
    if old.graph is None or new.graph is None:
        render(
            args.format, out, [*old.findings, *new.findings], {v.source.file: v.source for v in (old, new)}
        )
        return 1
    changes = diff(old.graph, new.graph)
    if args.format == "json":
        out.out(render_json(args.old, args.new, changes), highlight=False)
    elif args.format == "github":
        text = render_github(changes, annotation_file(args.new))
        if text:
            out.out(text, highlight=False)
    else:
        for line in render_text(args.old, args.new, changes):
            out.print(line)
    return 1 if breaks(changes) else 0
