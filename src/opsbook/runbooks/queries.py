"""Safety of query languages: SQL statements, Cypher, Redis commands, PromQL and Python
snippets. Each reads the whole text (every statement, every clause), not just the first word."""

from __future__ import annotations

import re

from opsbook.runbooks.safety import Verdict, des, mut, ro, unk, worst


def _words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_SQL_STRING = re.compile(r"'(?:[^']|'')*'|\$\$.*?\$\$", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_SQL_READ = frozenset(
    {
        "select",
        "show",
        "values",
        "table",
        "describe",
        "desc",
        "explain",
        "with",
        "begin",
        "commit",
        "rollback",
        "start",
        "end",
        "abort",
        "fetch",
        "listen",
        "prepare",
        "deallocate",
        "discard",
        "checkpoint",
    }
)
_SQL_DDL = frozenset(
    {
        "create",
        "alter",
        "comment",
        "grant",
        "revoke",
        "vacuum",
        "analyze",
        "analyse",
        "reindex",
        "cluster",
        "refresh",
        "lock",
        "security",
        "import",
        "notify",
        "load",
        "rename",
        "optimize",
        "flush",
        "repair",
    }
)
_POOLER_ADMIN = frozenset(
    {"pause", "resume", "suspend", "reconnect", "disable", "enable", "wait_close", "reload"}
)
_REPLICATION_WORDS = frozenset({"slave", "replica", "group_replication", "all"})
_SQL_OBJECT_WORDS = _words("""table index view policy extension schema database role user
function trigger materialized sequence type unique concurrently or system statistics""")
_SQL_DANGER_FUNCS = (
    "pg_terminate_backend",
    "pg_drop_replication_slot",
    "pg_wal_replay_pause",
    "lo_unlink",
    "pg_promote",
)
_SQL_MUT_FUNCS = (
    "pg_cancel_backend",
    "pg_reload_conf",
    "setval",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_stat_reset",
    "pg_stat_statements_reset",
    "set_config",
    "pg_advisory_lock",
    "pg_create_restore_point",
    "nextval",
)


def sql_statements(sql: str) -> list[str]:
    """Statements of a SQL text, comments and string literals blanked (for keyword reading)."""
    clean = _SQL_COMMENT.sub(" ", sql)
    clean = _SQL_STRING.sub("''", clean)
    return [s.strip() for s in clean.split(";") if s.strip()]


def sql_safety(sql: str) -> Verdict:
    """Safety of a SQL text: the worst of its statements."""
    statements = sql_statements(sql)
    if not statements:
        return unk("empty SQL")
    return worst(_sql_statement(s) for s in statements)


def _sql_statement(stmt: str) -> Verdict:
    words = [w.lower() for w in _WORD.findall(stmt)]
    if not words:
        return unk("no SQL keyword found")
    first = words[0]
    low = stmt.lower()
    if stmt.lstrip().startswith("\\"):
        return ro(f"psql meta-command {stmt.split()[0]} only describes")
    for func in _SQL_DANGER_FUNCS:
        if func in low:
            return des(f"calls {func}(), which cuts sessions off or drops state")
    if first == "explain" and "analyze" in words[:3]:
        inner = stmt.lower().split("analyze", 1)[1]
        v = _sql_statement(inner)
        return v if v.safety != "read-only" else ro("EXPLAIN ANALYZE of a read-only query")
    if first == "with":
        for verb in ("delete", "update", "insert", "merge", "truncate"):
            if verb in words:
                return (
                    _sql_statement(stmt[low.index(verb) :])
                    if verb != "insert"
                    else mut("INSERT inside a WITH query adds rows")
                )
    for func in _SQL_MUT_FUNCS:
        if func in low:
            return mut(f"calls {func}(), which changes server state")
    if first in ("delete", "truncate", "drop"):
        return des(f"{first.upper()} removes data and cannot be undone")
    if first == "alter":
        if "drop" in words:
            return des("ALTER … DROP removes a column, constraint or object")
        if words[1:2] == ["system"]:
            return mut("ALTER SYSTEM changes server configuration")
        return mut("ALTER changes the schema (DDL)")
    if first == "update":
        if "where" not in words:
            return des("UPDATE without WHERE rewrites every row")
        return mut("UPDATE changes existing rows")
    if first in ("insert", "merge", "upsert", "replace", "copy", "call", "do", "kill"):
        if first == "copy" and " to " in f" {low} " and " from " not in f" {low} ":
            return ro("COPY … TO exports rows")
        if first == "kill":
            return des("KILL ends a session or query")
        if first in ("call", "do"):
            return unk(f"{first.upper()} runs a procedure whose effect cannot be read here")
        return mut(f"{first.upper()} writes rows")
    if first in ("create", "reindex", "vacuum", "cluster", "refresh") or first in _SQL_DDL:
        what = " ".join(w for w in words[:2] if w in _SQL_OBJECT_WORDS or w == first).upper()
        return mut(f"{what} changes the schema or maintains tables; it can be undone")
    if first in ("stop", "start") and len(words) > 1 and words[1] in _REPLICATION_WORDS:
        return mut(f"{first.upper()} {words[1].upper()} stops or starts replication (reversible)")
    if first == "change" and words[1:2] in (["master"], ["replication"]):
        return mut(f"CHANGE {words[1].upper()} points replication elsewhere")
    if first == "reset" and len(words) > 1 and words[1] in (*_REPLICATION_WORDS, "master"):
        return des(f"RESET {words[1].upper()} forgets replication positions or binary logs")
    if first == "purge" and "logs" in words:
        return des("PURGE BINARY LOGS deletes binary logs replicas may still need")
    if first in ("shutdown",):
        return des("SHUTDOWN stops the database server")
    if first in _POOLER_ADMIN and len(words) <= 3:
        return mut(f"{first.upper()} changes the connection pooler (PgBouncer admin console)")
    if first == "unlock":
        return mut("UNLOCK releases table locks")
    if first == "use":
        return ro("USE only selects a database")
    if first == "set" and (
        (len(words) > 1 and words[1] in ("global", "persist", "persist_only"))
        or re.search(r"@@(?:global|persist)\.", low)
    ):
        return mut("SET GLOBAL changes the server's settings for every session")
    if first in ("set", "reset"):
        return ro(f"{first.upper()} changes only this session's settings")
    if first in _SQL_READ:
        if "into" in words and first == "select" and re.search(r"\binto\s+(?!@)", low):
            return mut("SELECT … INTO creates a table")
        if re.search(r"\bfor\s+(update|share)\b", low):
            return mut("SELECT … FOR UPDATE takes row locks")
        return ro(f"{first.upper()} only reads")
    return unk(f"unrecognised SQL statement {first.upper()}")


_CYPHER_READ_PROCS = re.compile(
    r"^(db\.(labels|relationshiptypes|propertykeys|indexes|constraints|schema\.\w+|ping|info"
    r"|stats\.\w+)|dbms\.(components|listqueries|listtransactions|listconnections|queryjmx"
    r"|cluster\.\w+|showcurrentuser|info|listconfig|procedures|functions)|apoc\.meta\.\w+"
    r"|gds\.list|gds\.graph\.list)$",
    re.I,
)


def cypher_safety(cypher: str) -> Verdict:
    """Safety of Cypher text: DELETE/REMOVE/DROP lose data; CREATE/MERGE/SET change it."""
    clean = re.sub(r"//[^\n]*|/\*.*?\*/", " ", cypher, flags=re.S)
    clean = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", "''", clean)
    words = [w.upper() for w in _WORD.findall(clean)]
    if not words:
        return unk("empty Cypher")
    text = " ".join(words)
    if re.search(r"\b(TERMINATE|KILLQUERY|KILLQUERIES|KILLTRANSACTION)\b", text):
        return des("terminates running queries or transactions")
    if "DETACH DELETE" in text:
        return des("DETACH DELETE removes nodes and their relationships")
    if "DELETE" in words:
        return des("DELETE removes graph data")
    if "DROP" in words:
        return des("DROP removes an index, constraint or database")
    if "REMOVE" in words:
        return des("REMOVE deletes properties or labels")
    for proc in re.findall(r"\bCALL\s+([\w.]+)", clean, flags=re.I):
        if not _CYPHER_READ_PROCS.match(proc):
            return unk(f"CALL {proc} runs a procedure whose effect cannot be read here")
    if "CREATE" in words and ("INDEX" in words or "CONSTRAINT" in words):
        return mut("creates an index or constraint (schema change that can be dropped)")
    for verb in ("CREATE", "MERGE", "SET", "FOREACH", "LOAD"):
        if verb in words:
            return mut(f"{verb} writes graph data")
    if words[0] in (
        "MATCH",
        "OPTIONAL",
        "RETURN",
        "WITH",
        "UNWIND",
        "SHOW",
        "CALL",
        "EXPLAIN",
        "PROFILE",
        "USE",
    ):
        return ro("MATCH/RETURN query only reads the graph")
    return unk(f"unrecognised Cypher clause {words[0]}")


_REDIS_READ = _words("""PING INFO GET MGET EXISTS TTL PTTL TYPE KEYS SCAN HGET HMGET HGETALL
HKEYS HVALS HLEN HEXISTS HSCAN LLEN LRANGE LINDEX SCARD SMEMBERS SISMEMBER SMISMEMBER SSCAN
SRANDMEMBER ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZCARD ZSCORE ZRANK ZREVRANK ZCOUNT
ZSCAN XLEN XINFO XRANGE XREVRANGE XPENDING XREAD DBSIZE MONITOR ROLE TIME LASTSAVE STRLEN
GETRANGE OBJECT ECHO PUBSUB COMMAND SUBSCRIBE PSUBSCRIBE RANDOMKEY DUMP BITCOUNT GETBIT PFCOUNT
GEOPOS GEODIST TOUCH AUTH SELECT HELLO READONLY WAIT LOLWUT""")
_REDIS_SUB_READ = {
    "CONFIG": {"GET"},
    "CLIENT": {"LIST", "INFO", "GETNAME", "ID", "TRACKINGINFO"},
    "SLOWLOG": {"GET", "LEN", "HELP"},
    "MEMORY": {"USAGE", "STATS", "DOCTOR", "MALLOC-STATS", "HELP"},
    "LATENCY": {"DOCTOR", "LATEST", "HISTORY", "GRAPH", "HISTOGRAM", "HELP"},
    "CLUSTER": {
        "INFO",
        "NODES",
        "SLOTS",
        "SHARDS",
        "MYID",
        "KEYSLOT",
        "COUNTKEYSINSLOT",
        "GETKEYSINSLOT",
    },
    "SENTINEL": {
        "MASTERS",
        "MASTER",
        "REPLICAS",
        "SLAVES",
        "SENTINELS",
        "GET-MASTER-ADDR-BY-NAME",
        "CKQUORUM",
        "INFO-CACHE",
    },
    "ACL": {"LIST", "WHOAMI", "USERS", "GETUSER", "CAT", "LOG"},
    "SCRIPT": {"EXISTS"},
    "FUNCTION": {"LIST", "STATS", "DUMP"},
    "MODULE": {"LIST"},
    "XINFO": {"STREAM", "GROUPS", "CONSUMERS"},
}
_REDIS_DESTRUCTIVE = _words("""FLUSHDB FLUSHALL DEL UNLINK HDEL LREM LPOP RPOP BLPOP BRPOP
LTRIM SREM SPOP ZREM ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX ZPOPMIN ZPOPMAX XDEL XTRIM
GETDEL SHUTDOWN DEBUG MIGRATE SWAPDB""")
_REDIS_SUB_DESTRUCTIVE = {
    "CLIENT": {"KILL"},
    "SCRIPT": {"FLUSH", "KILL"},
    "FUNCTION": {"FLUSH", "DELETE"},
    "CLUSTER": {"RESET", "FORGET", "FLUSHSLOTS", "DELSLOTS"},
    "ACL": {"DELUSER"},
    "XGROUP": {"DESTROY", "DELCONSUMER"},
    "SENTINEL": {"REMOVE", "RESET"},
    "CONFIG": {"RESETSTAT"},
    "MEMORY": {"PURGE"},
}


REDIS_COMMANDS = (
    _REDIS_READ
    | _REDIS_DESTRUCTIVE
    | frozenset(_REDIS_SUB_READ)
    | frozenset(_REDIS_SUB_DESTRUCTIVE)
    | _words("""SET SETEX EXPIRE PERSIST HSET LPUSH RPUSH SADD ZADD
    INCR DECR XADD XACK PUBLISH RENAME SAVE BGSAVE BGREWRITEAOF MULTI EXEC EVAL EVALSHA
    REPLICAOF SLAVEOF RESTORE CONFIG CLIENT SLOWLOG MEMORY LATENCY""")
)


def redis_safety(words: list[str]) -> Verdict:
    """Safety of one Redis command given as words (``["CONFIG", "SET", "maxmemory", "2gb"]``)."""
    if not words:
        return unk("no Redis command")
    cmd = words[0].upper()
    sub = words[1].upper() if len(words) > 1 else ""
    if cmd in _REDIS_SUB_DESTRUCTIVE and sub in _REDIS_SUB_DESTRUCTIVE[cmd]:
        return des(f"{cmd} {sub} removes data or cuts clients off")
    if cmd in _REDIS_DESTRUCTIVE:
        return des(
            f"{cmd} deletes data"
            if cmd not in ("SHUTDOWN", "DEBUG")
            else f"{cmd} stops or crashes the server"
        )
    if cmd in ("REPLICAOF", "SLAVEOF"):
        if sub == "NO":
            return mut(f"{cmd} NO ONE promotes this replica")
        return des(f"{cmd} makes the server discard its data and copy a primary")
    if cmd == "RESTORE":
        return (
            des("RESTORE … REPLACE overwrites a key")
            if "REPLACE" in (w.upper() for w in words)
            else mut("RESTORE creates a key from a dump")
        )
    if cmd in _REDIS_SUB_READ:
        if sub in _REDIS_SUB_READ[cmd] or not sub:
            return ro(f"{cmd} {sub}".strip() + " only reads")
        return mut(f"{cmd} {sub} changes server state")
    if cmd in _REDIS_READ:
        return ro(f"{cmd} only reads")
    if cmd in (
        "SET",
        "SETEX",
        "PSETEX",
        "SETNX",
        "MSET",
        "APPEND",
        "INCR",
        "INCRBY",
        "DECR",
        "DECRBY",
        "INCRBYFLOAT",
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PERSIST",
        "HSET",
        "HMSET",
        "HSETNX",
        "HINCRBY",
        "LPUSH",
        "RPUSH",
        "LSET",
        "LINSERT",
        "SADD",
        "ZADD",
        "ZINCRBY",
        "XADD",
        "XACK",
        "XCLAIM",
        "XAUTOCLAIM",
        "XGROUP",
        "PUBLISH",
        "RENAME",
        "RENAMENX",
        "COPY",
        "MOVE",
        "SAVE",
        "BGSAVE",
        "BGREWRITEAOF",
        "FAILOVER",
        "MULTI",
        "EXEC",
        "SETRANGE",
        "SETBIT",
        "PFADD",
        "GEOADD",
        "LMOVE",
        "RPOPLPUSH",
        "SMOVE",
    ):
        return mut(f"{cmd} writes data or server state that can be set back")
    if cmd in ("EVAL", "EVALSHA", "FCALL", "SCRIPT", "FUNCTION", "MODULE"):
        return unk(f"{cmd} runs server-side code whose effect cannot be read here")
    return unk(f"unrecognised Redis command {cmd}")


def promql_safety(query: str) -> Verdict:
    """PromQL only queries time series."""
    del query
    return ro("PromQL query only reads metrics")


_PY_DESTRUCTIVE = re.compile(
    r"\b\w*(delete|drop|remove|truncate|purge|flush|rmtree|unlink|kill|terminate|destroy|wipe"
    r"|erase|shutdown)\w*\s*\(",
    re.I,
)
_PY_MUTATING = re.compile(
    r"\b\w*(create|insert|update|upsert|write|save|put|post|patch|restart|scale|rename|migrate"
    r"|alter|reset|start|stop|set_|load|add_|append|commit|execute|send|publish|enable"
    r"|disable|apply)\w*\s*\(",
    re.I,
)
_PY_OPAQUE = re.compile(
    r"\b(subprocess|os\.system|eval|exec|__import__|requests\.(post|put"
    r"|delete|patch)|open\([^)]*['\"][wa])",
    re.I,
)
_PY_CALL = re.compile(r"\b([A-Za-z_][\w.]{0,100})\s*\(")
_PY_SAFE = re.compile(
    r"^(print|len|str|int|float|bool|dict|list|set|tuple|sorted|repr|range|enumerate|zip|sum|min"
    r"|max|any|all|isinstance|format|round|abs|type|json\.dumps|json\.loads|pprint"
    r"|[\w.]*\.[A-Z]\w*|(?:[\w.]*\.)?(get\w*|list\w*|describe\w*|count\w*|fetch\w*|query"
    r"|search|read\w*|check\w*"
    r"|ping|health\w*|has_\w*|is_\w*|exists|info|stats|status|show\w*|keys|values|items"
    r"|dumps|loads|json|text|now|time|sleep|format|upper|lower|strip|split|join|connect"
    r"|cursor|close)|get\w*|list\w*|[A-Z]\w*)$"
)


def python_safety(code: str) -> Verdict:
    """Safety of a Python snippet by the calls it makes (deletes, writes, only reads)."""
    body = "\n".join(ln for ln in code.split("\n") if not ln.strip().startswith("#"))
    if not body.strip():
        return ro("only comments")
    m = _PY_DESTRUCTIVE.search(body)
    if m:
        return des(f"calls {m.group(0).rstrip('( ')}(), which deletes or stops things")
    if _PY_OPAQUE.search(body):
        return unk("runs a subprocess, eval or writes files: effect cannot be read here")
    m = _PY_MUTATING.search(body)
    if m:
        return mut(f"calls {m.group(0).rstrip('( ')}(), which changes state")
    calls = _PY_CALL.findall(body)
    if all(_PY_SAFE.match(c) for c in calls):
        return ro("only imports, reads and prints")
    return unk("Python code whose effect cannot be read here")
