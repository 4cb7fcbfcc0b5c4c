"""One module per subcommand. Each has ``add_parser(subcommands)`` setting ``handler`` to a
function ``(args) -> exit status``."""
