"""What a run request may set: only the values a step asks for (DESIGN §6.9, "variables are data").

A request's variable is accepted when its name is an identifier (``[A-Za-z_][A-Za-z0-9_]*``), the
step itself declares it as a placeholder (``$POD``, ``<pod-name>`` is sent as ``POD_NAME``), the
service's config does not define it (variables or secrets), and it neither hooks a loader,
interpreter or shell (``PATH``, ``LD_*``, ``PYTHON*`` … see ``executors.environment``) nor picks
where a step connects (``DATABASE_URL``, ``REDIS_URL``, ``PGHOST``, ``KUBECONFIG`` …): those come
from the config only. Anything else is an :class:`InputError` naming ``variables.<name>`` (422),
before anything is resolved or stored; the same check guards a dry run.
"""

from __future__ import annotations

from collections.abc import Mapping

from opsbook.config.models import Service
from opsbook.core.errors import InputError
from opsbook.executors import postgres, promql, redis
from opsbook.executors.environment import NAME, connection_setting, why_unsafe
from opsbook.executors.models import canonical_name
from opsbook.runbooks.models import Step

MAX_VALUE = 4096
"""Longest value a request may give one variable (a pod name, an id, a key: not a file)."""

TARGET_VARIABLES = frozenset(
    {
        *postgres.URL_VARIABLES,
        *redis.URL_VARIABLES,
        *promql.URL_VARIABLES,
        "FALKORDB_URL",
        "NEO4J_URI",
        "NEO4J_URL",
        "GRAPH",
    }
)
"""Variables the executors read as a connection target: the config's to set, never a request's."""


def _field(name: str) -> str:
    return f"variables.{name}"


def declared(step: Step) -> frozenset[str]:
    """The names a request may use for the step's placeholders (``<pod-name>`` → ``POD_NAME``)."""
    return frozenset(canonical_name(p) for p in step.variables)


def defined(svc: Service) -> frozenset[str]:
    """The names the service's config gives a value (variables and secrets), as identifiers."""
    keys = (*svc.variables, *svc.secrets)
    return frozenset(k for key in keys for k in (key, canonical_name(key)))


def requestable(step: Step, svc: Service) -> list[str]:
    """The names a run request may set for ``step``, in the step's order: what a form or an API
    client should ask a person for (``<pod-name>`` is listed as ``POD_NAME``)."""
    names = dict.fromkeys(canonical_name(p) for p in step.variables)
    return [n for n in names if refusal(n, step, svc) is None]


def refusal(name: str, step: Step, svc: Service) -> str | None:
    """Why a request may not set ``name`` for ``step`` of ``svc``, or None when it may."""
    if not NAME.fullmatch(name):
        hint = canonical_name(name)
        tail = f"; send it as {hint}" if NAME.fullmatch(hint) and hint in declared(step) else ""
        return (
            f"{name!r} is not a variable name (letters, digits and _, not starting with a "
            f"digit){tail}"
        )
    unsafe = why_unsafe(name)
    if unsafe is not None:
        return f"{unsafe}; a run request cannot set it"
    if name.upper() in TARGET_VARIABLES or connection_setting(name):
        return (
            f"{name} decides where a step connects; it comes from the service's config, never "
            "from a run request"
        )
    if name in defined(svc):
        return f"{name} is defined by the service's config; a run request cannot replace it"
    if name not in declared(step):
        asks = ", ".join(sorted(declared(step) - defined(svc))) or "none"
        return f"this step does not use {name}; the values it asks for: {asks}"
    return None


def check_request_variables(step: Step, svc: Service, variables: Mapping[str, object]) -> None:
    """Raise InputError(field="variables.<name>") for the first variable a request may not set
    (in the order given), or for a value that is not text, holds a NUL byte or is too long."""
    for name, value in variables.items():
        why = refusal(str(name), step, svc)
        if why is not None:
            raise InputError(why, field=_field(str(name)))
        if not isinstance(value, str):
            raise InputError(f"the value of {name} must be text", field=_field(name))
        if "\x00" in value:
            raise InputError(f"the value of {name} holds a NUL byte", field=_field(name))
        if len(value) > MAX_VALUE:
            raise InputError(
                f"the value of {name} is longer than {MAX_VALUE} characters", field=_field(name)
            )
