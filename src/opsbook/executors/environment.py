"""The environment of a step's process, built from an allow-list (DESIGN §6.9).

A step's process gets: a fixed ``PATH`` (server settings), ``LANG``/``LC_ALL``, a fresh scratch
``HOME`` and ``TMPDIR`` (removed after the run), the few client settings the operator passes
through (``KUBECONFIG``, ``DOCKER_HOST`` … from the server's own environment, never a request),
and the variables the step itself names with their values. Never the rest of the server's
environment, and never a loader, interpreter or shell hook variable (:func:`denied`), whoever
set it: a request, the service's config or the runbook.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opsbook.executors.models import ExecContext, Resolved, canonical_name
from opsbook.runbooks.models import Step

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"})
"""Set by opsbook itself for every step; nobody else's value replaces them."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DENIED_EXACT = _words(
    """PATH ENV BASH_ENV SHELLOPTS BASHOPTS PS4 PROMPT_COMMAND IFS CDPATH GLOBIGNORE BROWSER
    EDITOR VISUAL PAGER MANPAGER MANOPT LESSOPEN LESSCLOSE LESSKEY PERLLIB JAVA_TOOL_OPTIONS
    _JAVA_OPTIONS JDK_JAVA_OPTIONS CLASSPATH HOSTALIASES LOCALDOMAIN RES_OPTIONS OPENSSL_CONF
    OPENSSL_ENGINES OPENSSL_MODULES GLIBC_TUNABLES GCONV_PATH LOCPATH NLSPATH TZDIR TERMINFO
    TERMINFO_DIRS TERMCAP INPUTRC ZDOTDIR PSQLRC PGSERVICEFILE PGSYSCONFDIR CURL_HOME WGETRC
    CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_OPTIONS MALLOC_CHECK_ MALLOC_PERTURB_ XDG_CONFIG_HOME
    XDG_CONFIG_DIRS XDG_DATA_HOME XDG_DATA_DIRS TCLLIBPATH"""
)
_DENIED_PREFIXES = (
    "LD_", "DYLD_", "PYTHON", "PERL5", "RUBY", "GEM_", "BUNDLE_", "NODE_", "NPM_CONFIG_",
    "BASH_FUNC_", "GIT_", "SSH_", "RESOLV_", "SSL_CERT_", "LUA_", "JAVA_",
)  # fmt: skip
_TARGET_EXACT = _words(
    """KUBECONFIG DOCKER_HOST DOCKER_CONFIG DOCKER_CONTEXT DOCKER_CERT_PATH DOCKER_TLS_VERIFY
    CONTAINER_HOST CONTAINERS_CONF"""
)
_TARGET_PREFIXES = ("PG", "REDISCLI_", "KUBE", "NEO4J_")
PASS_THROUGH = (
    "KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)  # fmt: skip
"""Client settings of the server's operator handed to kubectl/docker steps (never a request's)."""


def denied(name: str) -> bool:
    """A loader, interpreter or shell hook (or ``PATH``): never in a step's environment."""
    upper = name.upper()
    if upper in _DENIED_EXACT or upper.endswith("_PROXY"):
        return True
    return upper.startswith(_DENIED_PREFIXES)


def connection_setting(name: str) -> bool:
    """An environment variable that picks where a client connects (``KUBECONFIG``,
    ``DOCKER_HOST``, ``PGHOST`` …): the operator's or the config's to set, never a request's."""
    upper = name.upper()
    return upper in _TARGET_EXACT or upper.startswith(_TARGET_PREFIXES)


def why_unsafe(name: str) -> str | None:
    """Why ``name`` may not be a step's environment variable, or None."""
    if not NAME.fullmatch(name):
        return f"{name!r} is not a variable name (letters, digits and _, not starting with a digit)"
    if denied(name):
        return (
            f"{name} is a loader, interpreter or shell setting; opsbook never passes it to "
            "a step's process"
        )
    if name in RESERVED:
        return f"{name} is set by opsbook for every step"
    return None


def server_pass_through() -> dict[str, str]:
    """The operator's kubectl/docker settings from the server's environment; the default
    ``~/.kube/config`` and ``~/.docker`` are named explicitly since HOME is a scratch dir."""
    out = {k: os.environ[k] for k in PASS_THROUGH if os.environ.get(k)}
    home = os.environ.get("HOME")
    if home:
        kube = os.path.join(home, ".kube", "config")
        if "KUBECONFIG" not in out and os.path.isfile(kube):
            out["KUBECONFIG"] = kube
        docker = os.path.join(home, ".docker")
        if "DOCKER_CONFIG" not in out and os.path.isdir(docker):
            out["DOCKER_CONFIG"] = docker
    return {k: v for k, v in out.items() if "\x00" not in v}


@dataclass(frozen=True)
class Scratch:
    """A fresh per-run home: ``home`` is HOME, ``tmp`` is TMPDIR inside it."""

    home: str
    tmp: str


@contextmanager
def scratch_home() -> Iterator[Scratch]:
    """A private (0700) temporary HOME with a TMPDIR inside, removed after the run."""
    home = tempfile.mkdtemp(prefix="opsbook-step-")
    tmp = os.path.join(home, "tmp")
    os.mkdir(tmp, 0o700)
    try:
        yield Scratch(home, tmp)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def step_variables(step: Step, resolved: Resolved, ctx: ExecContext) -> dict[str, str]:
    """The variables the step names, as environment entries: ``<pod-name>`` → ``POD_NAME``;
    unsafe names and values holding NUL are left out."""
    out: dict[str, str] = {}
    for placeholder in dict.fromkeys((*step.variables, *resolved.names)):
        name = canonical_name(placeholder)
        value = ctx.lookup(placeholder)
        if value is None or "\x00" in value or why_unsafe(name) is not None:
            continue
        out[name] = value
    return out


def build_env(step: Step, resolved: Resolved, ctx: ExecContext, scratch: Scratch) -> dict[str, str]:
    """The whole environment of the step's processes (see the module docstring)."""
    env = {
        "PATH": ctx.step_path,
        "HOME": scratch.home,
        "TMPDIR": scratch.tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    env.update(server_pass_through())
    for name, value in step_variables(step, resolved, ctx).items():
        if connection_setting(name) and ctx.source(name) == "request":
            continue  # where a client connects is never a request's choice
        env[name] = value
    return env
