"""Quiet on purpose: Alertmanager-style silences and planned maintenance windows.

Pure domain code (no SQLAlchemy, FastAPI or httpx):

- ``models``: :class:`Silence`, its states, and :func:`silenced_by` — the ingest hook.
- ``guardrails``: what a silence must satisfy before it is stored (duration, equality matcher).
- ``cron``: a small five-field cron parser with time-zone- and DST-correct fire times.
- ``config``: the ``maintenance:`` entries of ``opsbook.yaml``.
- ``maintenance``: windows (one-off or recurring), which is active, and notices due beforehand.
"""
