"""How a subcommand declares itself: its parser, and the handler that runs it.

Apart from :mod:`supervisor.cli.common` (which loads graphs, and so the loader and rich) so the
quick requests to a running supervisor (``status``, ``stop``, ``logs``) declare themselves the
same way without loading either.
"""


def add_command(subcommands, name: str, handler, help: str, description: str | None = None, **defaults):
    """The parser of subcommand ``name``, run by ``handler(args) -> exit status``; ``defaults``
    are set on its arguments as they are (for a handler that serves several commands)."""
    parser = subcommands.add_parser(name, help=help, description=description)
    parser.set_defaults(handler=handler, **defaults)
    return parser
