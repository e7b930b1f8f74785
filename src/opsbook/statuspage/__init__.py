"""The public face of an incident: component states, public updates, history and feeds.

Pure domain code. Nothing here reads incidents' internal fields (alert labels, step outputs,
timeline comments, responders): the public page is built only from component names, severities
and times, and from text a commander typed into a public update.

- ``models``: component states, update statuses, the page indicator.
- ``derive``: component state from open incidents, maintenance and overrides; 90-day bars.
- ``templates``: prefilled public updates (investigating → … → resolved, maintenance).
- ``feed``: the Statuspage-style JSON summary and the Atom feed.
"""
