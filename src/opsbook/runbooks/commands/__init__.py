"""Command rules, tool by tool: what one shell command is (its kind) and what it does to
the systems it touches (its safety). ``dispatch.simple_command`` is the entry point."""
