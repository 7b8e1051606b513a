"""One module per `raison-garder` subcommand."""
