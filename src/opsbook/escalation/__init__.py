"""On-call schedules and escalation policies: pure domain code, time always passed in.

- ``schedules``: who is on call (rotations, layers, restrictions, overrides) and shift timelines.
- ``ics``: an iCalendar feed of shifts.
- ``policy``: ``next_action(snapshot, state, now)`` and the fencing token.
- ``targets``: a level's targets resolved to people when it fires.
"""
