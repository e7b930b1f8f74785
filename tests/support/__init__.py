"""Test support code shared by the suite: real-service harnesses live in ``services``."""
