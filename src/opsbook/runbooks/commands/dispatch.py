"""One simple command → :class:`Part`: strip wrappers (sudo, env, timeout, watch, xargs,
chroot, ``VAR=value``), pick the rule for the program, add output redirections."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsbook.runbooks.commands.argv import (
    Part,
    flag_value,
    output_redirects,
    positionals,
)
from opsbook.runbooks.commands.clients import (
    amtool,
    curl,
    cypher_shell,
    httpie,
    neo4j_admin,
    pg_tools,
    promtool,
    psql,
    python,
    redis_cli,
    wget,
)
from opsbook.runbooks.commands.containers import compose, docker
from opsbook.runbooks.commands.kubernetes import crictl, helm, kubectl
from opsbook.runbooks.commands.ops import (
    CLUSTER_TOOLS,
    DISK_TOOLS,
    MYSQL_TOOLS,
    PACKAGE_TOOLS,
    POWERSHELL,
    SETTING_TOOLS,
    SSL_TOOLS,
    VERB_TOOLS,
    WEB_SERVERS,
    WINDOWS_TOOLS,
    azcopy,
    cluster_tool,
    consul,
    disk,
    etcdctl,
    mysql_tools,
    mysqladmin,
    package,
    powershell,
    ssl_tools,
    system_setting,
    terraform,
    vault,
    verb_tool,
    webserver,
    windows,
)
from opsbook.runbooks.commands.system import (
    DESTRUCTIVE_TOOLS,
    MUTATING_TOOLS,
    READ_ONLY_TOOLS,
    SCRIPT_TOOLS,
    cloud,
    crontab,
    find,
    firewall,
    generic,
    git,
    kill,
    openssl,
    rabbitmqctl,
    sed_like,
    service,
    service_manager,
    systemctl,
    tar,
)
from opsbook.runbooks.safety import Verdict, des, mut, ro, unk, worst
from opsbook.runbooks.shellwords import SimpleCommand

_Handler = Callable[[list[str], SimpleCommand, bool], Part]


_NamedHandler = Callable[[str, list[str], SimpleCommand, bool], Part]


HANDLERS: dict[str, _Handler] = {
    "kubectl": kubectl,
    "k": kubectl,
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
    "mysqladmin": mysqladmin,
    "etcdctl": etcdctl,
    "consul": consul,
    "vault": vault,
    "azcopy": azcopy,
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
            "gsutil",
            "nomad",
            "argocd",
            "flux",
            "velero",
            "istioctl",
            "linkerd",
            "eksctl",
            "gh",
        ),
        cloud,
    ),
    **dict.fromkeys(("sed", "perl", "awk", "gawk", "yq"), sed_like),
    **dict.fromkeys(("terraform", "tofu", "terragrunt"), terraform),
    **dict.fromkeys(PACKAGE_TOOLS, package),
    **dict.fromkeys(DISK_TOOLS, disk),
    **dict.fromkeys(WEB_SERVERS, webserver),
    **dict.fromkeys(MYSQL_TOOLS, mysql_tools),
    **dict.fromkeys(CLUSTER_TOOLS, cluster_tool),
    **dict.fromkeys(WINDOWS_TOOLS, windows),
    **dict.fromkeys(SETTING_TOOLS, system_setting),
    **dict.fromkeys(SSL_TOOLS, ssl_tools),
    **dict.fromkeys(VERB_TOOLS, verb_tool),
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
    if len(words) == 1 and " " in words[0].strip() and len(raw_words) > 1:
        from opsbook.runbooks.classify import shell_parts

        kind, inner, verdict = shell_parts(words[0])  # watch -n 5 'kubectl get pods'
        return Part(kind, inner, verdict)
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
        if re.search(r"\b(drop|delete|remove|shutdownServer|killOp)\w*\s*\(", code, re.I):
            part = Part("shell", None, des("mongo --eval deletes data or stops the server"))
        elif re.search(
            r"\b(insert|update|create|replace|stepDown|reconfig|add|setParameter|fsyncLock"
            r"|fsyncUnlock|freeze|compact|rename\w*|save|bulkWrite|findAndModify|findOneAnd\w+"
            r"|resync|initiate)\w*\s*\(",
            code,
            re.I,
        ):
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
    elif POWERSHELL.match(prog):
        part = powershell(prog, args, cmd, piped)
    else:
        part = generic(prog, args, cmd, piped)
    redirect = output_redirects(cmd)
    verdict = part.verdict
    if redirect is not None:
        verdict = worst([verdict, redirect])
    if notes:
        verdict = Verdict(verdict.safety, f"{verdict.reason} ({', '.join(notes)})")
    return Part(part.kind, part.inner_kind, verdict)
