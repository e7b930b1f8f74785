"""Runbooks as code: read the Markdown runbooks teams already write into a typed model
(Runbook → Section → Phase → Step), classify every command's kind and safety, find its
variables, match alerts to sections and lint. Pure: no I/O besides ``catalog.load_paths``.

Entry points: ``parse.parse_runbook``, ``classify.classify``, ``variables.find_variables``,
``match.match_section``, ``lint.lint``, ``export.to_json_dict``, ``catalog.load_paths``.
The format is documented in docs/runbook-format.md.
"""
