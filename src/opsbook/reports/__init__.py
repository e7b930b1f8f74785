"""Incident metrics: MTTA, MTTD, MTTR, breaches, false positives, runbook accuracy, noisy alerts.

Pure: the figures are computed from plain records (``models``) over an injected ``Period``, so
tests check them against hand-computed values without a database or a clock.
"""
