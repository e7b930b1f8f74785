"""kubectl and docker steps: run the real binary (through the shell executor's argv runner)
when this host has it, with the configured kube context and namespace; otherwise say plainly
that the step is unavailable here."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

from opsbook.executors.common import Unsupported, now, unavailable
from opsbook.executors.environment import build_env, scratch_home
from opsbook.executors.models import ExecContext, Resolved, StepResult
from opsbook.executors.shell import Stage, plan, run_plan
from opsbook.runbooks.models import Step

_UNREACHABLE = (
    "unable to connect to the server",
    "the connection to the server",
    "connection refused",
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "i/o timeout",
)


_TARGET_FLAGS = {
    "kubectl": ("--kubeconfig", "--context", "--cluster", "--server", "-s", "--token", "--user",
                "--as", "--as-group", "--certificate-authority", "--client-certificate",
                "--client-key"),
    "docker": ("-H", "--host", "--context", "-c", "--config", "--tlscacert", "--tlscert",
               "--tlskey"),
}  # fmt: skip


def _check_targets(stage: Stage, kind: str, resolved: Resolved, ctx: ExecContext) -> None:
    """The cluster or daemon a kubectl/docker step talks to (and as whom) comes from the
    config or the runbook, never from a request variable."""
    flags = _TARGET_FLAGS.get(kind, ())
    templates = stage.template
    for i, word in enumerate(stage.argv):
        name, eq, _ = word.partition("=")
        if name not in flags:
            continue
        at = i if eq else i + 1
        piece = templates[at] if at < len(templates) else ""
        given = [
            resolved.names[n]
            for n in Resolved.slots(piece)
            if ctx.source(resolved.names[n]) == "request"
        ]
        if given:
            raise Unsupported(
                f"`{kind} {name}` decides which {'cluster' if kind == 'kubectl' else 'daemon'} "
                f"the step reaches and comes from the service's config; {', '.join(given)} was "
                "given in the request"
            )


def _kube_flags(stage: Stage, ctx: ExecContext) -> None:
    """Add ``--context``/``--namespace`` from the context unless the command sets them."""
    args = stage.argv[1:]
    extra: list[str] = []
    if ctx.kube_context and not any(a == "--context" or a.startswith("--context=") for a in args):
        extra += ["--context", ctx.kube_context]
    names_ns = any(
        a in ("-n", "--namespace", "-A", "--all-namespaces")
        or a.startswith(("--namespace=", "-n="))
        for a in args
    )
    if ctx.namespace and not names_ns:
        extra += ["--namespace", ctx.namespace]
    stage.argv[1:1] = extra
    stage.shown[1:1] = extra


class BinaryExecutor:
    """Runs steps whose program is one of ``programs`` (kubectl; docker, docker-compose …)."""

    def __init__(self, kind: str, programs: tuple[str, ...]) -> None:
        self.kind = kind
        self.programs = programs

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        with scratch_home() as scratch:
            env = build_env(step, resolved, ctx, scratch)
            try:
                the_plan = plan(resolved, env, ctx.workdir or os.getcwd(), ctx)
                for _, stages in the_plan:
                    for stage in stages:
                        _check_targets(stage, self.kind, resolved, ctx)
            except Unsupported as exc:
                return unavailable(str(exc), start, resolved.display)
            for _, stages in the_plan:
                for stage in stages:
                    program = os.path.basename(stage.argv[0])
                    if program not in self.programs and not (
                        program in ("sudo", "env", "timeout") and self.kind in stage.argv
                    ):
                        continue
                    if shutil.which(stage.argv[0], path=ctx.step_path) is None:
                        return unavailable(
                            f"{program} is not installed on this host; install it or run this "
                            "step by hand",
                            start,
                            resolved.display,
                        )
                    if program == "kubectl":
                        _kube_flags(stage, ctx)
            res = run_plan(the_plan, ctx, resolved.display)
        text = " ".join(getattr(b, "text", "") for b in res.blocks).lower()
        if res.status == "failed" and any(marker in text for marker in _UNREACHABLE):
            target = "cluster" if self.kind == "kubectl" else "Docker daemon"
            return replace(
                res,
                status="error",
                retryable=True,
                summary=f"cannot reach the {target}: {res.summary}; check the context and "
                "that it is up",
            )
        return res


def kubectl_executor() -> BinaryExecutor:
    return BinaryExecutor("kubectl", ("kubectl",))


def docker_executor() -> BinaryExecutor:
    return BinaryExecutor("docker", ("docker", "docker-compose", "podman", "nerdctl"))
