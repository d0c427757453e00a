"""One module per ``linksim`` subcommand; each keeps its heavy imports inside the function."""
