"""Safety rules for Kubernetes tools: kubectl (and oc), helm, crictl."""

from __future__ import annotations

from opsbook.runbooks.commands.argv import (
    Part,
    dry_run,
    flag_value,
    has_flag,
    positionals,
    positionals_until_command,
    run_inner,
    words,
)
from opsbook.runbooks.safety import des, mut, ro, unk
from opsbook.runbooks.shellwords import SimpleCommand

_KUBECTL_ARGS = words("""-n --namespace --context --cluster --kubeconfig --user -s --server
--token -l --selector -o --output -c --container -f --filename --field-selector --since --tail
--since-time --replicas --to-revision --timeout --image --type --patch -p -L --label-columns
--sort-by --template --grace-period --max-log-requests --request-timeout --as --as-group
--current-replicas --resource-version --for -k --kustomize --revision --cascade""")


_KUBECTL_ARGS_NO_P = _KUBECTL_ARGS - {"-p"}


_KUBECTL_RO = words("""get describe logs log top explain api-resources api-versions version
cluster-info events diff wait auth port-forward proxy completion options kustomize""")


_KUBECTL_MUT = words("""apply create edit patch label annotate autoscale expose run cp debug
cordon uncordon taint set certificate replace convert""")


def kubectl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """kubectl: reads (get, logs), changes (rollout, scale, patch) or deletes (delete)."""
    pos = positionals(args, _KUBECTL_ARGS)
    if pos[:1] == ["exec"]:
        return _kubectl_exec(args, cmd, piped)
    if pos[:1] == ["debug"] and "--" in args:
        inner = args[args.index("--") + 1 :]
        part = run_inner(inner, "kubectl debug", "kubectl", cmd, piped)
        return part
    if pos[:1] == ["adm"] and len(pos) > 1:  # OpenShift: oc adm cordon/drain/top …
        sub = pos[1]
        if sub in ("top", "inspect", "must-gather", "node-logs", "policy"):
            return Part("kubectl", None, ro(f"oc adm {sub} only reads"))
        return Part("kubectl", None, mut(f"oc adm {sub} changes cluster state (reversible)"))
    if "-p" in args:
        pos = positionals(args, _KUBECTL_ARGS_NO_P)
    if not pos:
        return Part("kubectl", None, unk("kubectl without a subcommand"))
    sub, rest = pos[0], pos[1:]
    if dry_run(args) and sub not in _KUBECTL_RO:
        return Part("kubectl", None, ro(f"kubectl {sub} --dry-run only shows what would change"))
    if sub == "delete":
        return Part("kubectl", None, des("kubectl delete removes Kubernetes objects"))
    if sub == "drain":
        return Part("kubectl", None, mut("kubectl drain evicts pods from a node (uncordon undoes)"))
    if sub == "rollout":
        action = rest[0] if rest else ""
        if action in ("status", "history"):
            return Part("kubectl", None, ro(f"kubectl rollout {action} only reads"))
        if action in ("undo", "restart", "pause", "resume"):
            return Part(
                "kubectl",
                None,
                mut(
                    f"kubectl rollout {action} changes the rollout; it can be rolled forward again"
                ),
            )
        return Part("kubectl", None, unk(f"unrecognised kubectl rollout {action}"))
    if sub == "scale":
        replicas = flag_value(args, "--replicas")
        if replicas is not None and replicas.strip() == "0":
            return Part(
                "kubectl", None, des("scales to zero replicas, taking the workload offline")
            )
        return Part("kubectl", None, mut("kubectl scale changes the replica count (reversible)"))
    if sub == "config":
        action = rest[0] if rest else ""
        if action in ("view", "get-contexts", "current-context", "get-clusters", "get-users"):
            return Part("kubectl", None, ro(f"kubectl config {action} only reads"))
        return Part("kubectl", None, mut(f"kubectl config {action} changes the local kubeconfig"))
    if sub == "replace" and has_flag(args, "--force"):
        return Part("kubectl", None, des("kubectl replace --force deletes and recreates objects"))
    if sub == "apply" and has_flag(args, "--prune"):
        return Part(
            "kubectl", None, des("kubectl apply --prune deletes objects not in the manifests")
        )
    if sub in _KUBECTL_RO:
        return Part("kubectl", None, ro(f"kubectl {sub} only reads"))
    if sub in _KUBECTL_MUT:
        return Part("kubectl", None, mut(f"kubectl {sub} changes cluster objects (reversible)"))
    if sub in ("attach", "rsh"):
        return Part(
            "kubectl",
            None,
            unk(f"kubectl {sub} opens a session in a pod; what runs cannot be told"),
        )
    return Part("kubectl", None, unk(f"unrecognised kubectl subcommand {sub}"))


def _kubectl_exec(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    if "--" in args:
        inner = args[args.index("--") + 1 :]
    else:
        pos = positionals(args, _KUBECTL_ARGS)
        inner = pos[2:] if len(pos) > 2 else []
    return run_inner(inner, "kubectl exec", "kubectl", cmd, piped)


def helm(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """helm: list/status read; install/upgrade/rollback change; uninstall removes."""
    pos = positionals(
        args,
        frozenset(
            {
                "-n",
                "--namespace",
                "--kube-context",
                "--kubeconfig",
                "-f",
                "--values",
                "--set",
                "--version",
                "-o",
                "--output",
                "--revision",
                "--timeout",
                "--set-string",
                "--repo",
            }
        ),
    )
    sub = pos[0] if pos else ""
    if dry_run(args):
        return Part("shell", None, ro(f"helm {sub} --dry-run only shows what would change"))
    if sub in (
        "list",
        "ls",
        "status",
        "history",
        "hist",
        "get",
        "show",
        "inspect",
        "template",
        "lint",
        "search",
        "version",
        "env",
        "diff",
        "verify",
        "help",
    ):
        return Part("shell", None, ro(f"helm {sub} only reads"))
    if sub == "repo":
        act = pos[1] if len(pos) > 1 else ""
        return Part(
            "shell",
            None,
            ro("helm repo list only reads")
            if act in ("list", "ls")
            else mut(f"helm repo {act} changes local repository settings"),
        )
    if sub in ("uninstall", "delete", "del", "un"):
        return Part("shell", None, des(f"helm {sub} removes a release and its objects"))
    if sub in (
        "install",
        "upgrade",
        "rollback",
        "dependency",
        "dep",
        "pull",
        "package",
        "push",
        "plugin",
        "registry",
        "test",
        "create",
    ):
        return Part("shell", None, mut(f"helm {sub} changes releases (a rollback undoes it)"))
    return Part("shell", None, unk(f"unrecognised helm {sub}"))


def crictl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """crictl (container runtime CLI): ps/images/logs read; rm/rmi delete; stop changes."""
    pos = positionals(
        args,
        frozenset(
            {
                "-r",
                "--runtime-endpoint",
                "-i",
                "--image-endpoint",
                "--timeout",
                "--config",
                "--state",
                "--name",
            }
        ),
    )
    sub = pos[0] if pos else ""
    if sub in ("rm", "rmi", "rmp"):
        return Part("shell", None, des(f"crictl {sub} deletes containers, images or pods"))
    if sub in (
        "ps",
        "pods",
        "images",
        "img",
        "inspect",
        "inspecti",
        "inspectp",
        "logs",
        "stats",
        "statsp",
        "info",
        "version",
        "imagefsinfo",
        "events",
        "config",
    ):
        return Part("shell", None, ro(f"crictl {sub} only reads"))
    if sub == "exec":
        inner = positionals_until_command(args[args.index(sub) + 1 :], frozenset())
        return run_inner(inner[1:], "crictl exec", "shell", cmd, piped)
    return Part("shell", None, mut(f"crictl {sub} changes containers (reversible)"))
