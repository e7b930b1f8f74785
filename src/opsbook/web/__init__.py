"""The web UI: server-rendered pages (Jinja2, autoescaped) with HTMX for the live parts."""
