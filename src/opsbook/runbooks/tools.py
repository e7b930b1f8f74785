"""Safety rules for shell commands, tool by tool: kubectl, docker/compose, helm, systemctl,
curl/wget/httpie, psql, redis-cli, cypher-shell, neo4j-admin and common Unix utilities.

``simple_command`` reads one simple command (after wrappers such as ``sudo`` or ``env``) and
returns a :class:`Part`: the step kind, the kind of a wrapped inner command, and a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from opsbook.runbooks.queries import (
    cypher_safety,
    python_safety,
    redis_safety,
    sql_safety,
)
from opsbook.runbooks.safety import Verdict, des, mut, ro, unk, worst
from opsbook.runbooks.shellwords import SimpleCommand


def _words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


class Part(NamedTuple):
    """What one simple command is: kind, inner kind (for wrappers) and safety verdict."""

    kind: str
    inner_kind: str | None
    verdict: Verdict


def positionals(args: list[str], with_arg: frozenset[str]) -> list[str]:
    """Positional words of an argument list, skipping options (and the values of ``with_arg``
    options). Stops at ``--``."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--":
            break
        if a.startswith("-") and len(a) > 1:
            if a in with_arg:
                skip = True
            continue
        out.append(a)
    return out


def has_flag(args: list[str], *flags: str) -> bool:
    """True when any of the flags is present (also as ``--flag=value``)."""
    for a in args:
        if a == "--":
            return False
        for f in flags:
            if a == f or a.startswith(f + "="):
                return True
    return False


def flag_value(args: list[str], *flags: str) -> str | None:
    """The value of the first of the flags (``-X POST``, ``-XPOST``, ``--request=POST``)."""
    for i, a in enumerate(args):
        for f in flags:
            if a == f and i + 1 < len(args):
                return args[i + 1]
            if f.startswith("--") and a.startswith(f + "="):
                return a.split("=", 1)[1]
            if not f.startswith("--") and a.startswith(f) and len(a) > len(f):
                return a[len(f) :]
    return None


def dry_run(args: list[str]) -> bool:
    """True when a ``--dry-run`` flag (other than ``--dry-run=none``) is present."""
    return any(
        a == "--dry-run" or (a.startswith("--dry-run=") and a != "--dry-run=none") for a in args
    )


def output_redirects(cmd: SimpleCommand) -> Verdict | None:
    """A verdict for ``> file`` / ``>> file`` redirections (writing a local file), if any."""
    for op, target in cmd.redirects:
        if op in (">", ">>", "<>") and target not in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return mut(f"writes output to the local file {target}")
    return None


def input_file(cmd: SimpleCommand) -> str | None:
    """The file redirected into the command with ``<``, if any."""
    for op, target in cmd.redirects:
        if op == "<":
            return target
    return None


# ---------------------------------------------------------------- kubectl


_KUBECTL_ARGS = _words("""-n --namespace --context --cluster --kubeconfig --user -s --server
--token -l --selector -o --output -c --container -f --filename --field-selector --since --tail
--since-time --replicas --to-revision --timeout --image --type --patch -p -L --label-columns
--sort-by --template --grace-period --max-log-requests --request-timeout --as --as-group
--current-replicas --resource-version --for -k --kustomize --revision --cascade""")
_KUBECTL_ARGS_NO_P = _KUBECTL_ARGS - {"-p"}
_KUBECTL_RO = _words("""get describe logs log top explain api-resources api-versions version
cluster-info events diff wait auth port-forward proxy completion options kustomize""")
_KUBECTL_MUT = _words("""apply create edit patch label annotate autoscale expose run cp debug
cordon uncordon taint set certificate replace convert""")


def kubectl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """kubectl: reads (get, logs), changes (rollout, scale, patch) or deletes (delete)."""
    pos = positionals(args, _KUBECTL_ARGS)
    if pos[:1] == ["exec"]:
        return _kubectl_exec(args, cmd, piped)
    if pos[:1] == ["debug"] and "--" in args:
        inner = args[args.index("--") + 1 :]
        part = _inner(inner, "kubectl debug", "kubectl", cmd, piped)
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


_SHELLS = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "ash",
        "dash",
        "ksh",
        "/bin/sh",
        "/bin/bash",
        "/bin/zsh",
        "/bin/ash",
        "/usr/bin/bash",
        "/usr/bin/env",
    }
)


def _inner(
    words: list[str],
    wrapper: str,
    kind: str,
    outer: SimpleCommand | None = None,
    piped: bool = False,
) -> Part:
    """A wrapper (kubectl exec, docker exec) running ``words``: its safety is the inner one.
    Input redirections, heredocs and pipes of the wrapper feed the inner command."""
    if not words:
        return Part(kind, None, unk(f"{wrapper} without a command"))
    if (
        words[0] in _SHELLS
        and "-c" not in words
        and len(words) <= 2
        and outer is not None
        and (not outer.heredoc and not piped and not input_file(outer))
    ):
        return Part(kind, "shell", unk(f"{wrapper} opens an interactive shell"))
    inner_cmd = SimpleCommand(words=list(words), quoted=[False] * len(words))
    if outer is not None:
        inner_cmd.redirects = [r for r in outer.redirects if r[0] in ("<", "<<", "<<-", "<<<")]
        inner_cmd.heredoc = outer.heredoc
    part = simple_command(inner_cmd, piped=piped)
    v = part.verdict
    return Part(kind, part.kind, Verdict(v.safety, f"{wrapper} runs {part.kind}: {v.reason}"))


def _kubectl_exec(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    if "--" in args:
        inner = args[args.index("--") + 1 :]
    else:
        pos = positionals(args, _KUBECTL_ARGS)
        inner = pos[2:] if len(pos) > 2 else []
    return _inner(inner, "kubectl exec", "kubectl", cmd, piped)


# ---------------------------------------------------------------- docker / compose


_DOCKER_GLOBAL = _words("""-H --host --context -c --config -l --log-level -n --namespace -a
--address --snapshotter --cgroup-manager --storage-driver --url --connection --tlscacert
--tlscert --tlskey""")
_DOCKER_RUN_ARGS = _words("""-e --env -u --user -w --workdir --name -p --publish -v --volume
--network --entrypoint --env-file -l --label --mount --memory -m --cpus --restart --platform
--detach-keys --hostname -h --add-host --log-driver --pull --gpus --ulimit --device
--cap-add --cap-drop --security-opt --tmpfs --shm-size""")
_DOCKER_RO = _words("""ps logs inspect stats top images version info events port diff history
search""")
_DOCKER_MUT = _words("""restart start stop pause unpause update pull build tag push create cp
commit rename kill load import save login logout wait""")
_DOCKER_OBJECTS = _words("""container image volume network system builder context node
service stack secret config plugin manifest buildx swarm trust""")


def docker(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """docker, podman and nerdctl: ps/logs read; restart/stop change; rm/prune delete."""
    pos_all = positionals(args, _DOCKER_GLOBAL)
    if not pos_all:
        return Part("docker", None, unk(f"{prog} without a subcommand"))
    sub = pos_all[0]
    idx = args.index(sub)
    rest = args[idx + 1 :]
    if sub == "compose":
        return compose(f"{prog} compose", rest, cmd, piped)
    if sub == "exec":
        pos = positionals_until_command(
            rest,
            frozenset(
                {"-e", "--env", "-u", "--user", "-w", "--workdir", "--detach-keys", "--env-file"}
            ),
        )
        return _inner(pos[1:], f"{prog} exec", "docker", cmd, piped)
    if sub == "run":
        pos = positionals_until_command(rest, _DOCKER_RUN_ARGS)
        if len(pos) > 1:
            part = _inner(pos[1:], f"{prog} run", "docker", cmd, piped)
            v = worst([mut(f"{prog} run starts a new container"), part.verdict])
            return Part("docker", part.inner_kind, v)
        return Part("docker", None, mut(f"{prog} run starts a new container"))
    if sub in _DOCKER_OBJECTS:
        action = positionals(rest, _DOCKER_GLOBAL)[:1]
        act = action[0] if action else ""
        what = f"{prog} {sub} {act}".strip()
        if act == "prune":
            return Part("docker", None, des(f"{what} permanently deletes unused {sub} data"))
        if act in ("rm", "remove", "delete"):
            return Part("docker", None, des(f"{what} deletes the {sub} and its data"))
        if act in (
            "ls",
            "list",
            "inspect",
            "ps",
            "logs",
            "df",
            "info",
            "events",
            "show",
            "top",
            "stats",
            "history",
            "port",
            "diff",
            "tasks",
        ) or (sub == "manifest"):
            return Part("docker", None, ro(f"{what} only reads"))
        if act == "exec":
            return docker(prog, ["exec", *rest[1:]], cmd, piped)
        if act == "scale" and any(a.endswith("=0") for a in rest):
            return Part("docker", None, des(f"{what} to zero takes the service offline"))
        return Part("docker", None, mut(f"{what} changes Docker state (reversible)"))
    if sub in ("rm", "rmi"):
        return Part("docker", None, des(f"{prog} {sub} deletes containers or images"))
    if sub in _DOCKER_RO:
        return Part("docker", None, ro(f"{prog} {sub} only reads"))
    if sub in _DOCKER_MUT:
        return Part("docker", None, mut(f"{prog} {sub} changes container state (reversible)"))
    if sub == "attach":
        return Part("docker", None, unk(f"{prog} attach joins a running process"))
    return Part("docker", None, unk(f"unrecognised {prog} subcommand {sub}"))


def positionals_until_command(args: list[str], with_arg: frozenset[str]) -> list[str]:
    """Positionals of ``exec``/``run``-style arguments: options stop at the first positional
    (the container); everything after it is the command, options included."""
    out: list[str] = []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            continue
        if a.startswith("-") and len(a) > 1:
            if a in with_arg:
                skip = True
            continue
        out.append(a)
        out.extend(args[i + 1 :])
        break
    return out


_COMPOSE_GLOBAL = _words("""-f --file -p --project-name --env-file --profile
--project-directory --ansi --progress --parallel""")
_COMPOSE_RO = _words("ps logs config top images version ls port events")
_COMPOSE_MUT = _words("""up restart start stop pull build create pause unpause kill scale push
cp convert watch attach""")


def compose(
    prog: str, args: list[str], cmd: SimpleCommand | None = None, piped: bool = False
) -> Part:
    """docker compose / docker-compose / nerdctl compose subcommands."""
    pos = positionals(args, _COMPOSE_GLOBAL)
    if not pos:
        return Part("docker", None, unk(f"{prog} without a subcommand"))
    sub = pos[0]
    rest = args[args.index(sub) + 1 :]
    if sub in ("exec", "run"):
        inner = positionals_until_command(
            rest,
            frozenset(
                {
                    "-e",
                    "--env",
                    "-u",
                    "--user",
                    "-w",
                    "--workdir",
                    "--index",
                    "--name",
                    "--entrypoint",
                    "-p",
                    "--publish",
                    "-v",
                    "--volume",
                    "-l",
                    "--label",
                }
            ),
        )
        part = _inner(inner[1:], f"{prog} {sub}", "docker", cmd, piped)
        if sub == "run":
            return Part(
                "docker",
                part.inner_kind,
                worst([mut(f"{prog} run starts a one-off container"), part.verdict]),
            )
        return part
    if sub == "down":
        if has_flag(rest, "-v", "--volumes"):
            return Part(
                "docker", None, des(f"{prog} down -v removes containers and their volumes (data)")
            )
        return Part(
            "docker", None, mut(f"{prog} down stops and removes containers; up recreates them")
        )
    if sub == "rm":
        return Part("docker", None, des(f"{prog} rm deletes stopped containers"))
    if sub in _COMPOSE_RO:
        return Part("docker", None, ro(f"{prog} {sub} only reads"))
    if sub in _COMPOSE_MUT:
        return Part("docker", None, mut(f"{prog} {sub} changes service containers (reversible)"))
    return Part("docker", None, unk(f"unrecognised {prog} subcommand {sub}"))


# ---------------------------------------------------------------- http clients


_CURL_DATA = (
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "-F",
    "--form",
    "--json",
    "-T",
    "--upload-file",
    "--form-string",
)
_URL_DANGER = re.compile(
    r"/(?:delete|drop|purge|flush\w*|wipe|truncate|destroy|reset|"
    r"admin/tsdb/delete_series|clean_tombstones)\b",
    re.I,
)


def _http_verdict(tool: str, method: str, url: str) -> Verdict:
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return ro(f"{tool} {method} request only reads")
    if method == "DELETE" or _URL_DANGER.search(url):
        return des(f"{tool} {method} {_short(url)} deletes remote data")
    if method in ("POST", "PUT", "PATCH"):
        return mut(f"{tool} {method} request changes remote state")
    return unk(f"{tool} {method} request: effect cannot be told")


def _short(url: str) -> str:
    return url if len(url) <= 60 else url[:57] + "…"


def _inner_http_kind(url: str) -> str | None:
    if re.search(r"/api/v1/(query|query_range|series|labels|label/)", url):
        return "promql"
    if re.search(r"/db/[^/]+/tx|/db/data/transaction", url):
        return "cypher"
    return None


_CURL_ARGS = _words("""-X --request -H --header -d --data --data-raw --data-binary
--data-urlencode -F --form -u --user -o --output -A --user-agent -e --referer -b --cookie -c
--cookie-jar -m --max-time --connect-timeout -w --write-out -x --proxy --cacert --cert --key
--resolve --retry --retry-delay -T --upload-file --json --form-string -K --config --limit-rate
--interface -E --noproxy --oauth2-bearer --proto -r --range -Y -y --retry-max-time""")


def curl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """curl: GET reads; POST/PUT/PATCH change; DELETE (or a delete-like URL) deletes."""
    method = flag_value(args, "-X", "--request")
    has_data = has_flag(args, *_CURL_DATA)
    if method is None:
        method = "HEAD" if has_flag(args, "-I", "--head") else ("POST" if has_data else "GET")
    urls = positionals(args, _CURL_ARGS)
    url = next(
        (u for u in urls if "://" in u or u.startswith(("/", "$", "localhost"))),
        urls[0] if urls else "",
    )
    inner = _inner_http_kind(url)
    v = _http_verdict("curl", method, url)
    if inner == "promql" and method == "POST" and flag_value(args, "-X", "--request") is None:
        v = ro("Prometheus query API (form POST) only reads")
    out = flag_value(args, "-o", "--output")
    if out and out not in ("/dev/null", "-") and v.safety == "read-only":
        v = mut(f"curl downloads to the local file {out}")
    return Part("http", inner, v)


def wget(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """wget: a GET unless --post-data/--method; saving to a file is a local write."""
    method = flag_value(args, "--method") or (
        "POST"
        if has_flag(args, "--post-data", "--post-file", "--body-data", "--body-file")
        else "GET"
    )
    urls = positionals(
        args,
        frozenset(
            {
                "-O",
                "--output-document",
                "-o",
                "--output-file",
                "--header",
                "--user",
                "--password",
                "-T",
                "--timeout",
                "-t",
                "--tries",
                "--post-data",
                "--method",
                "--body-data",
            }
        ),
    )
    url = urls[0] if urls else ""
    v = _http_verdict("wget", method, url)
    out = flag_value(args, "-O", "--output-document")
    to_stdout = out == "-" or any(a in ("-qO-", "-O-", "-qO", "--spider") for a in args)
    if v.safety == "read-only" and not to_stdout:
        v = mut("wget saves the response to a local file")
    return Part("http", _inner_http_kind(url), v)


def httpie(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """HTTPie/xh: ``http [METHOD] URL [items]``; data items make it a POST."""
    pos = positionals(
        args,
        frozenset(
            {
                "-a",
                "--auth",
                "-A",
                "--auth-type",
                "--session",
                "--timeout",
                "-o",
                "--output",
                "--verify",
                "--cert",
            }
        ),
    )
    method = "GET"
    if pos and pos[0].isupper() and pos[0].isalpha():
        method, pos = pos[0], pos[1:]
    elif any(re.match(r"^[\w.-]+(?::=|=|@)", p) for p in pos[1:]) or has_flag(args, "-f", "--form"):
        method = "POST"
    url = pos[0] if pos else ""
    return Part("http", _inner_http_kind(url), _http_verdict(prog, method, url))


# ---------------------------------------------------------------- database clients


_PSQL_ARGS = _words("""-h --host -p --port -U --username -d --dbname -c --command -f --file
-o --output -v --set --variable -P --pset -F --field-separator -R --record-separator -T
--table-attr -L --log-file""")
_RESTORE_FILE = re.compile(r"backup|dump|restore|snapshot", re.I)


def _from_file(tool: str, path: str) -> Verdict:
    if _RESTORE_FILE.search(path):
        return des(f"{tool} loads {path} into a live database: a restore may overwrite data")
    return unk(f"{tool} runs statements from {path}; they cannot be read here")


def psql(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """psql/mysql/sqlite3: the safety of the SQL given with -c/-e, a heredoc, or a file."""
    sql_flags = ("-e", "--execute") if prog in ("mysql", "mariadb") else ("-c", "--command")
    statements: list[str] = []
    for i, a in enumerate(args):
        if a in sql_flags and i + 1 < len(args):
            statements.append(args[i + 1])
        elif a.startswith(sql_flags[1] + "="):
            statements.append(a.split("=", 1)[1])
    if prog == "sqlite3":
        pos = positionals(args, frozenset({"-cmd", "-separator"}))
        statements.extend(pos[1:])
    if statements:
        return Part("sql", None, sql_safety(";\n".join(statements)))
    if cmd.heredoc:
        return Part("sql", None, sql_safety(cmd.heredoc))
    file = flag_value(args, "-f", "--file") or input_file(cmd)
    if file:
        return Part("sql", None, _from_file(prog, file))
    if has_flag(args, "-l", "--list", "--version", "-V"):
        return Part("sql", None, ro(f"{prog} lists databases"))
    if piped:
        return Part("sql", None, unk(f"{prog} reads SQL from a pipe"))
    return Part("sql", None, unk(f"{prog} opens an interactive session; what runs cannot be told"))


_REDIS_ARGS = _words("""-h -p -s -a -u -n -r -i -d -D --user --pass --cacert --cacertdir
--cert --key --sni --tls-ciphers --tls-ciphersuites --pattern --count --memkeys-samples --rdb
--functions-rdb --pipe-timeout --intrinsic-latency --eval --cluster-replicas --cluster-from
--cluster-to --cluster-slots --cluster-yes --quoted-pattern --keystats-samples""")
_REDIS_MODES = (
    "--latency",
    "--latency-history",
    "--latency-dist",
    "--stat",
    "--bigkeys",
    "--memkeys",
    "--hotkeys",
    "--scan",
    "--intrinsic-latency",
    "--rdb",
    "--replica",
    "--keystats",
    "--version",
)


def redis_cli(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """redis-cli: the safety of the Redis command it sends (INFO reads, FLUSHDB deletes)."""
    if "--cluster" in args:
        i = args.index("--cluster")
        action = args[i + 1] if i + 1 < len(args) else ""
        if action in ("check", "info", "help"):
            return Part("redis", None, ro(f"redis-cli --cluster {action} only reads"))
        if action in (
            "del-node",
            "fix",
            "reshard",
            "rebalance",
            "add-node",
            "import",
            "set-timeout",
            "create",
            "call",
        ):
            return Part("redis", None, mut(f"redis-cli --cluster {action} changes the cluster"))
        return Part("redis", None, unk(f"redis-cli --cluster {action}"))
    if has_flag(args, "--eval"):
        return Part("redis", None, unk("redis-cli --eval runs a Lua script"))
    words = positionals(args, _REDIS_ARGS)
    if words:
        return Part("redis", None, redis_safety(words))
    mode = next((m for m in _REDIS_MODES if has_flag(args, m)), None)
    if mode:
        return Part("redis", None, ro(f"redis-cli {mode} only reads statistics or keys"))
    if cmd.heredoc:
        lines = [ln.split() for ln in cmd.heredoc.split("\n") if ln.strip()]
        return Part("redis", None, worst(redis_safety(w) for w in lines))
    if has_flag(args, "--pipe"):
        return Part("redis", None, unk("redis-cli --pipe mass-sends commands from stdin"))
    if piped or input_file(cmd):
        return Part("redis", None, unk("redis-cli reads commands from stdin"))
    return Part(
        "redis", None, unk("redis-cli opens an interactive session; what runs cannot be told")
    )


_CYPHER_ARGS = _words("""-a --address -u --username -p --password -d --database --format -f
--file -P --param --encryption --access-mode --uri --sample-rows""")


def cypher_shell(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """cypher-shell: the safety of the Cypher query it runs."""
    pos = positionals(args, _CYPHER_ARGS)
    if pos:
        return Part("cypher", None, cypher_safety(" ".join(pos)))
    if cmd.heredoc:
        return Part("cypher", None, cypher_safety(cmd.heredoc))
    file = flag_value(args, "-f", "--file") or input_file(cmd)
    if file:
        return Part("cypher", None, _from_file("cypher-shell", file))
    if piped:
        return Part("cypher", None, unk("cypher-shell reads Cypher from a pipe"))
    return Part("cypher", None, unk("cypher-shell opens an interactive session"))


def neo4j_admin(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """neo4j-admin: dump/backup write files; load/restore with overwrite is destructive."""
    pos = positionals(
        args,
        frozenset(
            {
                "--to-path",
                "--from-path",
                "--database",
                "--to",
                "--from",
                "--backup-dir",
                "--verbose",
            }
        ),
    )
    if (
        pos[:1] in (["database"], ["server"], ["dbms"], ["backup"])
        and len(pos) > 1
        and pos[0] != "backup"
    ):
        pos = pos[1:]
    action = pos[0] if pos else ""
    overwrite = any(
        a in ("--force", "--overwrite-destination", "--overwrite-destination=true", "--force=true")
        for a in args
    )
    if action in ("load", "restore", "import"):
        if overwrite:
            return Part(
                "shell",
                None,
                des(f"neo4j-admin {action} overwrites the existing database with a backup"),
            )
        return Part("shell", None, mut(f"neo4j-admin {action} creates a database from a backup"))
    if action in ("dump", "backup", "copy", "migrate", "upload"):
        return Part("shell", None, mut(f"neo4j-admin {action} writes backup files"))
    if action in (
        "check",
        "info",
        "check-consistency",
        "report",
        "memory-recommendation",
        "version",
        "help",
        "status",
        "validate-config",
    ):
        return Part("shell", None, ro(f"neo4j-admin {action} only reads"))
    if action in (
        "set-initial-password",
        "set-default-admin",
        "unbind",
        "start",
        "stop",
        "restart",
    ):
        return Part("shell", None, mut(f"neo4j-admin {action} changes the server"))
    return Part("shell", None, unk(f"unrecognised neo4j-admin {action}"))


# ---------------------------------------------------------------- services and others


def systemctl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """systemctl: status reads; restart/stop change; reboot/poweroff cut users off."""
    pos = positionals(
        args,
        frozenset(
            {
                "-n",
                "--lines",
                "-H",
                "--host",
                "-M",
                "-p",
                "--property",
                "-t",
                "--type",
                "--state",
                "-o",
            }
        ),
    )
    sub = pos[0] if pos else "list-units"
    if sub in (
        "status",
        "show",
        "is-active",
        "is-enabled",
        "is-failed",
        "list-units",
        "list-unit-files",
        "list-timers",
        "list-sockets",
        "cat",
        "list-dependencies",
        "get-default",
        "help",
    ):
        return Part("shell", None, ro(f"systemctl {sub} only reads"))
    if sub in ("poweroff", "reboot", "halt", "kexec", "emergency", "rescue"):
        return Part("shell", None, des(f"systemctl {sub} takes the machine down"))
    if sub in (
        "start",
        "stop",
        "restart",
        "reload",
        "try-restart",
        "reload-or-restart",
        "enable",
        "disable",
        "daemon-reload",
        "mask",
        "unmask",
        "reset-failed",
        "set-property",
        "kill",
        "edit",
        "isolate",
        "try-reload-or-restart",
    ):
        return Part("shell", None, mut(f"systemctl {sub} changes a service (reversible)"))
    return Part("shell", None, unk(f"unrecognised systemctl {sub}"))


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
        return _inner(inner[1:], "crictl exec", "shell", cmd, piped)
    return Part("shell", None, mut(f"crictl {sub} changes containers (reversible)"))


def service_manager(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """Process supervisors (gitlab-ctl, supervisorctl, sv, pm2, brew services …)."""
    pos = [a for a in args if not a.startswith("-")]
    verbs = {
        "status",
        "list",
        "ls",
        "show",
        "tail",
        "avail",
        "info",
        "describe",
        "logs",
        "check",
        "version",
        "jlist",
        "monit",
    }
    if not pos or pos[0] in verbs:
        return Part("shell", None, ro(f"{prog} {' '.join(pos[:1])}".strip() + " only reads"))
    if pos[0] in ("delete", "remove", "kill", "flush", "cleanse", "uninstall"):
        return Part("shell", None, des(f"{prog} {pos[0]} removes processes or their data"))
    return Part("shell", None, mut(f"{prog} {pos[0]} changes running services (reversible)"))


def service(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """SysV ``service NAME ACTION``."""
    action = args[1] if len(args) > 1 else "status"
    if action in ("status", "--status-all"):
        return Part("shell", None, ro(f"service {action} only reads"))
    return Part("shell", None, mut(f"service {action} changes a service (reversible)"))


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


def python(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """python -c CODE is read by its calls; a script or module cannot be read here."""
    code = flag_value(args, "-c")
    if code is not None:
        return Part("python", None, python_safety(code))
    if has_flag(args, "--version", "-V"):
        return Part("python", None, ro("prints the Python version"))
    module = flag_value(args, "-m")
    if module in ("pip", "pip3"):
        sub = positionals(args[args.index("-m") + 2 :], frozenset())[:1]
        if sub and sub[0] in ("list", "show", "freeze", "check", "--version"):
            return Part("python", None, ro(f"pip {sub[0]} only reads"))
        return Part("python", None, mut("pip changes installed packages"))
    if module == "json.tool":
        return Part("python", None, ro("pretty-prints JSON"))
    if cmd.heredoc:
        return Part("python", None, python_safety(cmd.heredoc))
    what = module or next((a for a in args if not a.startswith("-")), "")
    return Part("python", None, unk(f"runs {what or 'Python'}; its effect cannot be read here"))


def find(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """find: reads, unless -delete or -exec runs something that changes files."""
    if "-delete" in args:
        return Part("shell", None, des("find -delete deletes the files it matches"))
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in args:
            i = args.index(flag)
            inner = []
            for a in args[i + 1 :]:
                if a in (";", "+", "\\;"):
                    break
                inner.append(a)
            part = simple_command(
                SimpleCommand(words=inner, quoted=[False] * len(inner)), piped=False
            )
            v = part.verdict
            return Part("shell", None, Verdict(v.safety, f"find {flag} runs {v.reason}"))
    if any(a.startswith("-fprint") or a == "-fls" for a in args):
        return Part("shell", None, mut("find writes its results to a file"))
    return Part("shell", None, ro("find only lists files"))


def tar(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """tar: -t lists; -c writes an archive; -x extracts over existing files."""
    first = args[0] if args else ""
    mode = first.lstrip("-") if first and not first.startswith("--") else ""
    if "x" in mode or has_flag(args, "--extract", "--get"):
        return Part("shell", None, des("tar -x extracts over existing files (a restore)"))
    if "t" in mode or has_flag(args, "--list"):
        return Part("shell", None, ro("tar -t only lists an archive"))
    if "c" in mode or "r" in mode or has_flag(args, "--create", "--append"):
        return Part("shell", None, mut("tar -c writes an archive file"))
    return Part("shell", None, unk("tar mode cannot be told"))


def kill(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """kill/pkill/killall: reload signals change; the default signal ends processes."""
    sig = next((a.lstrip("-").upper() for a in args if a.startswith("-") and len(a) > 1), "")
    sig = flag_value(args, "-s", "--signal") or sig
    sig = sig.upper().removeprefix("SIG")
    if sig in ("0",):
        return Part("shell", None, ro(f"{prog} -0 only checks that a process exists"))
    if sig in ("HUP", "1", "USR1", "USR2", "10", "12", "CONT", "WINCH"):
        return Part("shell", None, mut(f"{prog} -{sig} asks the process to reload"))
    return Part("shell", None, des(f"{prog} ends processes, cutting their users off"))


def git(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """git: status/log read; reset --hard, clean -f, push --force lose work."""
    pos = positionals(args, frozenset({"-C", "-c", "--git-dir", "--work-tree"}))
    sub = pos[0] if pos else ""
    if (
        (sub == "reset" and "--hard" in args)
        or (sub == "clean" and any(a.startswith("-") and "f" in a for a in args))
        or (sub == "push" and has_flag(args, "--force", "-f", "--force-with-lease", "--delete"))
        or (sub == "branch" and has_flag(args, "-D"))
    ):
        return Part("shell", None, des(f"git {sub} discards work"))
    if sub in (
        "status",
        "log",
        "diff",
        "show",
        "fetch",
        "rev-parse",
        "describe",
        "blame",
        "grep",
        "ls-files",
        "ls-remote",
        "shortlog",
        "reflog",
        "remote",
        "branch",
        "tag",
        "config",
        "help",
        "version",
    ):
        return Part("shell", None, ro(f"git {sub} only reads"))
    return Part("shell", None, mut(f"git {sub} changes the working tree or repository"))


_CLOUD_DES = re.compile(
    r"^(delete|remove|terminate|destroy|purge|rm|rb|deregister|drop|"
    r"revoke|disable-|detach)",
    re.I,
)
_CLOUD_RO = re.compile(
    r"^(describe|list|get|show|ls|head|lookup|wait|view|check|status|"
    r"version|whoami|info|inspect|read|logs|tail|search|query)",
    re.I,
)


def cloud(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """aws/gcloud/az/doctl/vault/terraform/etcdctl and similar verb-style CLIs."""
    pos = positionals(
        args,
        frozenset(
            {
                "--region",
                "--profile",
                "--project",
                "-o",
                "--output",
                "--query",
                "--format",
                "--zone",
                "-g",
                "--resource-group",
                "--subscription",
                "--endpoints",
                "-field",
                "--field",
                "-address",
                "--namespace",
                "-n",
            }
        ),
    )
    if prog == "terraform" and pos[:2] == ["state", "rm"]:
        return Part("shell", None, des("terraform state rm forgets resources"))
    if any(_CLOUD_DES.match(p) for p in pos[:4]) or (prog == "etcdctl" and pos[:1] == ["del"]):
        return Part("shell", None, des(f"{prog} {' '.join(pos[:3])} deletes resources or data"))
    if prog == "aws" and "--delete" in args:
        return Part("shell", None, des("aws s3 sync --delete removes files"))
    verbs = pos[:4]
    if (
        verbs
        and all(not _CLOUD_DES.match(v) for v in verbs)
        and any(_CLOUD_RO.match(v) for v in verbs[1:] or verbs)
    ):
        return Part("shell", None, ro(f"{prog} {' '.join(pos[:3])} only reads"))
    if (
        prog in ("terraform", "tofu")
        and pos[:1]
        and pos[0] in ("plan", "show", "validate", "output", "fmt", "version", "providers", "graph")
    ):
        return Part("shell", None, ro(f"{prog} {pos[0]} only reads"))
    if prog == "vault" and pos[:1] and pos[0] in ("status", "read", "list", "login"):
        return Part("shell", None, ro(f"vault {pos[0]} only reads"))
    if not pos:
        return Part("shell", None, unk(f"{prog} without a command"))
    return Part("shell", None, mut(f"{prog} {' '.join(pos[:3])} changes resources"))


def openssl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """openssl: inspecting and random numbers read; -out writes key or cert files."""
    if has_flag(args, "-out", "-keyout"):
        return Part("shell", None, mut("openssl writes key or certificate files"))
    return Part("shell", None, ro("openssl only inspects or prints"))


def sed_like(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """sed/perl/awk/yq: edits files in place with -i, else only prints."""
    if any(
        a.startswith("-i") or a == "--in-place" or a.startswith("--in-place=") or a == "inplace"
        for a in args
    ):
        return Part("shell", None, mut(f"{prog} -i edits files in place"))
    if prog == "perl":
        return Part("shell", None, unk("perl code whose effect cannot be read here"))
    return Part("shell", None, ro(f"{prog} only prints"))


def crontab(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """crontab: -l reads, -r removes the crontab, others replace it."""
    if "-l" in args:
        return Part("shell", None, ro("crontab -l only lists"))
    if "-r" in args:
        return Part("shell", None, des("crontab -r removes the whole crontab"))
    return Part("shell", None, mut("crontab installs or edits scheduled jobs"))


def firewall(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """iptables/nft/ufw: listing reads; flushing removes every rule; others change rules."""
    low = [a.lower() for a in args]
    if any(a in ("-l", "-s", "--list", "list", "status", "--list-rules", "show") for a in low):
        return Part("shell", None, ro(f"{prog} only lists rules"))
    if any(a in ("-f", "--flush", "flush", "reset", "-x", "--delete-chain") for a in low):
        return Part("shell", None, des(f"{prog} flush/reset removes firewall rules"))
    return Part("shell", None, mut(f"{prog} changes firewall rules (reversible)"))


def rabbitmqctl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """rabbitmqctl: list_* and status read; purge/delete/reset lose messages."""
    sub = next((a for a in args if not a.startswith("-")), "")
    if sub.startswith(
        (
            "list",
            "status",
            "cluster_status",
            "environment",
            "report",
            "ping",
            "node_health_check",
            "await_startup",
        )
    ):
        return Part("shell", None, ro(f"rabbitmqctl {sub} only reads"))
    if sub.startswith(("purge", "delete", "reset", "force_reset", "forget", "clear")):
        return Part("shell", None, des(f"rabbitmqctl {sub} deletes queues, messages or state"))
    return Part("shell", None, mut(f"rabbitmqctl {sub} changes the broker"))


def pg_tools(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """PostgreSQL command-line tools other than psql."""
    if prog in ("pg_isready", "pg_controldata", "pg_config", "pg_lsclusters"):
        return Part("shell", None, ro(f"{prog} only checks or reads"))
    if prog in ("pg_dump", "pg_dumpall"):
        out = flag_value(args, "-f", "--file")
        if out:
            return Part("shell", None, mut(f"{prog} writes a dump to {out}"))
        return Part("shell", None, ro(f"{prog} only reads the database"))
    if prog == "pg_restore":
        if has_flag(args, "-c", "--clean"):
            return Part("shell", None, des("pg_restore --clean drops objects before restoring"))
        return Part("shell", None, mut("pg_restore writes restored objects"))
    if prog in ("dropdb", "dropuser"):
        return Part("shell", None, des(f"{prog} deletes a database or role"))
    if prog in ("pg_ctl", "pg_ctlcluster"):
        pos = positionals(
            args,
            frozenset({"-D", "--pgdata", "-m", "--mode", "-l", "--log", "-o", "-t", "--timeout"}),
        )
        if "status" in pos:
            return Part("shell", None, ro(f"{prog} status only reads"))
        if any(p in ("stop", "kill") for p in pos) and flag_value(args, "-m", "--mode") in (
            "immediate",
            "i",
        ):
            return Part("shell", None, des(f"{prog} stop -m immediate cuts every session off"))
        return Part("shell", None, mut(f"{prog} {' '.join(pos[-1:])} changes the server"))
    return Part("shell", None, mut(f"{prog} changes the database (reversible)"))


def promtool(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """promtool: queries and checks only read."""
    pos = positionals(args, frozenset({"--time", "--start", "--end", "--step", "--match"}))
    if pos[:1] == ["query"]:
        return Part("promql", None, ro("promtool query only reads metrics"))
    if pos[:1] in (["check"], ["test"], ["debug"]):
        return Part("shell", None, ro(f"promtool {pos[0]} only reads"))
    return Part("shell", None, unk(f"promtool {' '.join(pos[:2])}"))


def amtool(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """amtool: queries read; silence add/expire change alerting (reversible)."""
    pos = positionals(
        args,
        frozenset(
            {
                "--alertmanager.url",
                "-o",
                "--output",
                "-c",
                "--comment",
                "-a",
                "--author",
                "-d",
                "--duration",
            }
        ),
    )
    if pos[:1] == ["silence"] and len(pos) > 1 and pos[1] in ("add", "expire", "import"):
        return Part("shell", None, mut(f"amtool silence {pos[1]} changes silences (reversible)"))
    return Part("shell", None, ro(f"amtool {' '.join(pos[:2])} only reads"))


READ_ONLY_TOOLS = _words("""ls ll cat less more head tail grep egrep fgrep rg ag awk gawk jq
wc sort uniq cut tr echo printf date df du free top htop atop btop ps pgrep pidof uptime whoami
id hostname uname env printenv which whereis type stat file lsof ss netstat ping ping6 dig
nslookup host traceroute tracepath mtr nc ncat telnet iostat vmstat mpstat sar dmesg
nvidia-smi true false test [ [[ diff cmp md5sum sha1sum sha256sum base64 xxd od hexdump strings
tree realpath readlink basename dirname seq expr bc getent nproc ulimit locale lscpu lsblk
blkid findmnt w who last tput history man help column nl tac sleep read pwd stern kubetail k9s
kubectx kubens timedatectl hostnamectl loginctl systemd-analyze dpkg rpm watch zcat zgrep
zless bzcat xzcat arp route ipcalc curlie tcpdump iftop nethogs iotop glances pstree pmap
numfmt fold fmt paste join comm split csplit yes time tee-none lsmod modinfo journalctl
dmidecode lspci lsusb sensors smartctl ethtool iperf iperf3 speedtest http-prompt aws-vault
envsubst jless gron dog drill whois ab hey""")
MUTATING_TOOLS = _words("""mkdir touch cp mv ln chmod chown chgrp chattr install rsync scp
logrotate useradd usermod groupadd passwd gzip gunzip bzip2 xz zip unzip mount umount sysctl
modprobe swapon swapoff update-alternatives export uvicorn gunicorn celery node npm npx yarn
pnpm java go cargo make docker-machine minikube kind sed-i nohup screen tmux ssh-keygen
certbot nginx apachectl caddy kubeadm velero flux argocd istioctl linkerd""")
DESTRUCTIVE_TOOLS = _words("""rm shred wipe srm truncate mkfs mkfs.ext4 mkfs.xfs wipefs
fdisk parted sgdisk reboot shutdown halt poweroff dropdb""")
SCRIPT_TOOLS = _words("""k6 locust vegeta wrk artillery source . bash sh zsh ansible
ansible-playbook ./""")


def _generic(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    if prog in ("tee",):
        files = [a for a in args if not a.startswith("-") and a != "/dev/null"]
        return Part(
            "shell",
            None,
            mut(f"tee writes to {files[0]}") if files else ro("tee only passes output through"),
        )
    if prog == "dd":
        if any(a.startswith("of=") for a in args):
            return Part("shell", None, des("dd overwrites its output target"))
        return Part("shell", None, ro("dd only reads"))
    if prog in ("rmdir",):
        return Part("shell", None, mut("rmdir removes empty directories"))
    if prog in ("rsync",) and any(a.startswith("--delete") for a in args):
        return Part("shell", None, des("rsync --delete removes files at the destination"))
    if prog in ("ip", "ifconfig"):
        if any(
            a in ("add", "del", "delete", "set", "flush", "change", "replace", "up", "down")
            for a in args
        ):
            return Part("shell", None, mut(f"{prog} changes network settings"))
        return Part("shell", None, ro(f"{prog} only shows network settings"))
    if prog in ("mount",) and not args:
        return Part("shell", None, ro("mount lists mounts"))
    if prog in ("uvicorn", "gunicorn", "celery", "node", "java") and not (
        prog == "celery" and "inspect" in args
    ):
        return Part("shell", None, mut(f"{prog} starts a long-running process"))
    if prog == "celery":
        return Part("shell", None, ro("celery inspect only reads worker state"))
    if prog in ("journalctl",) and any(a.startswith("--vacuum") for a in args):
        return Part("shell", None, des("journalctl --vacuum deletes old logs"))
    if prog in (
        "export",
        "declare",
        "local",
        "readonly",
        "set",
        "unset",
        "alias",
        "shopt",
        "typeset",
    ):
        return Part("shell", None, ro(f"{prog} only sets shell variables for this session"))
    if prog in ("cd", "pushd", "popd"):
        return Part("shell", None, ro(f"{prog} only changes directory"))
    if prog in ("tcpdump",) and has_flag(args, "-w"):
        return Part("shell", None, mut("tcpdump writes a capture file"))
    if prog in READ_ONLY_TOOLS:
        return Part("shell", None, ro(f"{prog} only reads"))
    if prog in DESTRUCTIVE_TOOLS:
        what = (
            "rm -rf deletes files and directories recursively"
            if prog == "rm" and any(a.startswith("-") and "r" in a.lower() for a in args)
            else f"{prog} deletes data or takes the machine down"
        )
        if prog == "rm":
            what = what if "rm -rf" in what else "rm deletes files"
        return Part("shell", None, des(what))
    if prog in MUTATING_TOOLS:
        return Part("shell", None, mut(f"{prog} changes files or processes (reversible)"))
    if prog in SCRIPT_TOOLS:
        return Part("shell", None, unk(f"{prog} runs a script whose effect cannot be read here"))
    if "/" in prog or prog.endswith((".sh", ".py", ".rb", ".pl")):
        return Part("shell", None, unk(f"runs the script {prog}; its effect cannot be read here"))
    return Part("shell", None, unk(f"no rule for `{prog}`"))


_Handler = Callable[[list[str], SimpleCommand, bool], Part]
_NamedHandler = Callable[[str, list[str], SimpleCommand, bool], Part]

HANDLERS: dict[str, _Handler] = {
    "kubectl": kubectl,
    "oc": kubectl,
    "curl": curl,
    "wget": wget,
    "cypher-shell": cypher_shell,
    "neo4j-admin": neo4j_admin,
    "systemctl": systemctl,
    "service": service,
    "helm": helm,
    "find": find,
    "tar": tar,
    "git": git,
    "openssl": openssl,
    "crontab": crontab,
    "rabbitmqctl": rabbitmqctl,
    "promtool": promtool,
    "amtool": amtool,
    "crictl": crictl,
}
NAMED_HANDLERS: dict[str, _NamedHandler] = {
    **dict.fromkeys(("docker", "podman", "nerdctl"), docker),
    **dict.fromkeys(("http", "https", "xh", "xhs"), httpie),
    **dict.fromkeys(("psql", "mysql", "mariadb", "sqlite3", "pgcli"), psql),
    **dict.fromkeys(("redis-cli", "valkey-cli", "keydb-cli"), redis_cli),
    **dict.fromkeys(("python", "python3", "python2", "py"), python),
    **dict.fromkeys(("kill", "pkill", "killall"), kill),
    **dict.fromkeys(
        (
            "aws",
            "gcloud",
            "az",
            "doctl",
            "vault",
            "terraform",
            "tofu",
            "etcdctl",
            "gsutil",
            "consul",
            "nomad",
        ),
        cloud,
    ),
    **dict.fromkeys(("sed", "perl", "awk", "gawk", "yq"), sed_like),
    **dict.fromkeys(("gitlab-ctl", "supervisorctl", "sv", "pm2", "monit"), service_manager),
    **dict.fromkeys(("iptables", "ip6tables", "nft", "ufw", "firewall-cmd"), firewall),
    **dict.fromkeys(
        (
            "pg_isready",
            "pg_dump",
            "pg_dumpall",
            "pg_restore",
            "pg_ctl",
            "pg_ctlcluster",
            "pg_controldata",
            "pg_config",
            "pg_lsclusters",
            "pg_basebackup",
            "vacuumdb",
            "reindexdb",
            "createdb",
            "dropdb",
            "dropuser",
            "createuser",
            "pg_upgrade",
        ),
        pg_tools,
    ),
}
KNOWN_PROGRAMS = (
    frozenset(HANDLERS)
    | frozenset(NAMED_HANDLERS)
    | READ_ONLY_TOOLS
    | (MUTATING_TOOLS | DESTRUCTIVE_TOOLS | SCRIPT_TOOLS)
    | frozenset(
        {
            "docker-compose",
            "sudo",
            "env",
            "tee",
            "dd",
            "rmdir",
            "ip",
            "ifconfig",
            "cd",
            "pushd",
            "popd",
            "declare",
            "unset",
            "set",
            "alias",
            "xargs",
            "timeout",
            "nice",
            "ionice",
            "ssh",
            "exec",
            "command",
            "stdbuf",
            "export",
            "mongosh",
            "mongo",
            "chroot",
        }
    )
)

_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_WRAPPER_ARGS = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "--user", "--group"}),
    "timeout": frozenset({"-s", "--signal", "-k", "--kill-after"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "watch": frozenset({"-n", "--interval", "-d"}),
    "xargs": frozenset(
        {
            "-I",
            "-n",
            "-P",
            "-L",
            "-d",
            "-s",
            "-E",
            "-a",
            "--max-args",
            "--max-procs",
            "--delimiter",
            "--replace",
        }
    ),
    "stdbuf": frozenset(),
    "env": frozenset({"-u", "--unset", "-C", "--chdir"}),
}
_ONE_ARG_WRAPPERS = frozenset({"chroot", "nsenter-t", "runuser-u"})
_PLAIN_WRAPPERS = frozenset(
    {
        "time",
        "nohup",
        "exec",
        "command",
        "builtin",
        "unbuffer",
        "chronic",
        "caffeinate",
        "then",
        "do",
        "else",
        "elif",
        "if",
        "while",
        "until",
        "!",
        "{",
        "}",
        "noglob",
    }
)


def strip_wrappers(words: list[str]) -> tuple[list[str], list[str]]:
    """Remove env assignments and wrappers (sudo, env, timeout, watch, xargs …)."""
    notes: list[str] = []
    changed = True
    while words and changed:
        changed = False
        while words and _ASSIGN.match(words[0]):
            words = words[1:]
            changed = True
        if not words:
            break
        head = words[0]
        if head in _PLAIN_WRAPPERS:
            words = words[1:]
            changed = True
        elif head == "chroot" and len(words) > 2:
            words = words[2:]
            changed = True
        elif head in _WRAPPER_ARGS:
            args = _WRAPPER_ARGS[head]
            i = 1
            while i < len(words) and (
                words[i].startswith("-") or (head == "env" and _ASSIGN.match(words[i]))
            ):
                i += 2 if words[i] in args else 1
            if head == "timeout" and i < len(words):
                i += 1
            if head == "sudo":
                notes.append("via sudo")
            words = words[i:]
            changed = True
    return words, notes


def simple_command(cmd: SimpleCommand, *, piped: bool) -> Part:
    """The kind and safety of one simple command."""
    raw_words = list(cmd.words)
    words, notes = strip_wrappers(raw_words)
    if not words:
        if any(_ASSIGN.match(w) for w in raw_words):
            return Part("shell", None, ro("only sets shell variables"))
        return Part("shell", None, ro("nothing to run"))
    if words[0] in ("for", "case", "select", "function"):
        return Part("shell", None, ro(f"{words[0]} loop header"))
    if words[0] in ("done", "fi", "esac", "}", ")"):
        return Part("shell", None, ro("end of a compound command"))
    if words[0] in ("bash", "sh", "zsh") and "-c" in words:
        i = words.index("-c")
        if i + 1 < len(words):
            from opsbook.runbooks.classify import shell_parts

            kind, inner, verdict = shell_parts(words[i + 1])
            return Part(kind, inner, verdict)
    if words[0] == "ssh":
        pos = positionals(
            words[1:], frozenset({"-i", "-p", "-l", "-o", "-J", "-F", "-L", "-R", "-D", "-W"})
        )
        if len(pos) > 1:
            from opsbook.runbooks.classify import shell_parts

            kind, inner, verdict = shell_parts(" ".join(pos[1:]))
            return Part("shell", kind, Verdict(verdict.safety, f"over ssh: {verdict.reason}"))
        return Part("shell", None, unk("ssh opens an interactive session"))
    if words[0] in ("mongosh", "mongo"):
        code = flag_value(words[1:], "--eval") or ""
        if re.search(r"\b(drop|delete|remove)\w*\s*\(", code, re.I):
            part = Part("shell", None, des("mongo --eval deletes data"))
        elif re.search(r"\b(insert|update|create|replace)\w*\s*\(", code, re.I):
            part = Part("shell", None, mut("mongo --eval writes data"))
        elif code:
            part = Part("shell", None, ro("mongo --eval only reads"))
        else:
            part = Part("shell", None, unk("mongo shell opens an interactive session"))
        return part
    prog = words[0].rsplit("/", 1)[-1] if not words[0].startswith(".") else words[0]
    args = words[1:]
    if prog in HANDLERS:
        part = HANDLERS[prog](args, cmd, piped)
    elif prog in NAMED_HANDLERS:
        part = NAMED_HANDLERS[prog](prog, args, cmd, piped)
    elif prog == "docker-compose":
        part = compose("docker-compose", args, cmd, piped)
    else:
        part = _generic(prog, args, cmd, piped)
    redirect = output_redirects(cmd)
    verdict = part.verdict
    if redirect is not None:
        verdict = worst([verdict, redirect])
    if notes:
        verdict = Verdict(verdict.safety, f"{verdict.reason} ({', '.join(notes)})")
    return Part(part.kind, part.inner_kind, verdict)
