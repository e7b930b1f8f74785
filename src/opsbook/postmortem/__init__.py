"""Post-mortems: a document built from an incident, its timeline, alerts and step runs; Markdown export.

Pure (no SQLAlchemy, FastAPI or httpx): ``flows/postmortems.py`` reads the rows and hands plain
records to ``build.build_postmortem``; what people write (summary, root cause, factors, action
items) is stored, everything else is derived afresh so the timeline is never stale.
"""
