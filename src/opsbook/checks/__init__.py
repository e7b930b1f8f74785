"""Detection: health checks and SLO burn-rate alerts.

Pure parts live here — the check state machine (``state``), threshold and result evaluation
(``evaluate``), burn-rate maths (``burn``) and Prometheus rule generation (``rules``); the
probes (``probes``) are the one module that talks to the outside world, through
``opsbook.executors``. Scheduling, storage and the alert pipeline are wired in
``opsbook.flows.checks`` and ``opsbook.flows.slos``.
"""
