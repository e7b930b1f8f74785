"""Safety rules for clients: HTTP (curl, wget, HTTPie), databases (psql, redis-cli,
cypher-shell, neo4j-admin, PostgreSQL tools), python, promtool and amtool."""

from __future__ import annotations

import re

from opsbook.runbooks.commands.argv import (
    Part,
    flag_value,
    has_flag,
    input_file,
    positionals,
    words,
)
from opsbook.runbooks.queries import cypher_safety, python_safety, redis_safety, sql_safety
from opsbook.runbooks.safety import Verdict, des, mut, ro, unk, worst
from opsbook.runbooks.shellwords import SimpleCommand

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


def http_verdict(tool: str, method: str, url: str) -> Verdict:
    """Safety of an HTTP request from its method and URL."""
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


_CURL_ARGS = words("""-X --request -H --header -d --data --data-raw --data-binary
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
    v = http_verdict("curl", method, url)
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
    v = http_verdict("wget", method, url)
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
    return Part("http", _inner_http_kind(url), http_verdict(prog, method, url))


_PSQL_ARGS = words("""-h --host -p --port -U --username -d --dbname -c --command -f --file
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


_REDIS_ARGS = words("""-h -p -s -a -u -n -r -i -d -D --user --pass --cacert --cacertdir
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


_CYPHER_ARGS = words("""-a --address -u --username -p --password -d --database --format -f
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
