"""Subcommands of the ``slot`` CLI that have no package of their own."""
