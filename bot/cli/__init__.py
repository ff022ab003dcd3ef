"""The ``cratebot`` command line: one module per group of subcommands."""
