"""``supervisor completion bash|zsh|fish``: the shell code that completes ``supervisor`` commands.

argcomplete, rather than shtab: it serves bash, zsh and fish alike (shtab writes no fish), and it
completes from the real parser at each TAB, so a new subcommand or option completes with no
script to regenerate. The hook runs ``supervisor`` with argcomplete's variables set, and only
then is argcomplete imported (see :func:`supervisor.cli.main`): ``supervisor run`` as PID 1 never
loads it.
"""

import sys

from supervisor.cli.parsers import add_command

SHELLS = ("bash", "zsh", "fish")


def add_parser(subcommands) -> None:
    parser = add_command(
        subcommands,
        "completion",
        run,
        help="print the shell code that completes supervisor commands (bash, zsh, fish)",
        description="Print the code that makes SHELL complete supervisor's subcommands, options and "
        "files. Load it from your shell's start-up file: bash: eval \"$(supervisor completion bash)\"; "
        "zsh: eval \"$(supervisor completion zsh)\" (after compinit); fish: supervisor completion fish | source.",
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")


def run(args) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["supervisor"], shell=args.shell))
    return 0
