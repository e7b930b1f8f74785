"""opsbook: self-hosted incident response with executable runbooks."""

__version__ = "0.1.0"
