"""Notifications: what a message says and how it reaches a person.

- ``models``: the ``Notification`` value with its stable id.
- ``render`` / ``templates``: Jinja2 (sandboxed) messages per channel kind.
- ``links``: signed, expiring acknowledge/resolve links.
- ``rules``: which of a person's contacts a page of some severity goes to.
- ``backoff``: retry timing, what is worth retrying, when to give up.
- ``redact``: contact URLs without their secrets.
- ``apprise_channel``: the one module that sends (through Apprise).
"""
