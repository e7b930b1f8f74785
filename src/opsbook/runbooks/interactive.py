"""Commands that never end by themselves or need a terminal (``tail -f``, ``watch``,
``kubectl exec -it``, ``psql`` with no query): such a step is run by hand, never automatically.

A ``timeout N`` wrapper bounds a follower (``timeout 30 tail -f x`` ends), so it is not
interactive; a command that needs a terminal stays interactive whatever wraps it.
"""

from __future__ import annotations

import functools
import re

from opsbook.runbooks.commands.argv import positionals
from opsbook.runbooks.shellwords import tokenize_shared as tokenize

_MAYBE = re.compile(
    r"(?:^|[\s;&|(])(?:-[a-zA-Z]*[fFwtNe][a-zA-Z]*|--(?:follow|watch|tty|watch-only)\b|edit\b|attach\b"
    r"|port-forward\b|proxy\b|stats\b|events\b|console\b|tail\b|c\b|dbconsole\b|-i\b"
    r"|(?:MONITOR|SUBSCRIBE|PSUBSCRIBE|SSUBSCRIBE)\b|--(?:stat|latency|latency-history|monitor)\b"
    r"|(?:[\w./-]*/)?(?:top|htop|atop|btop|iotop|iftop|nethogs|glances|nmon|k9s|less|more|most|vim?"
    r"|nvim|nano|emacs|pico|mc|man|tmux|screen|visudo|vipw|mtr|ctop|lazydocker|ipython|irb|tig|watch"
    r"|stern|kubetail|multitail|lnav|psql|mysql|mariadb|sqlite3|pgcli|mycli|redis-cli|valkey-cli"
    r"|keydb-cli|mongosh|mongo|cypher-shell|cqlsh|python3?|node|bash|sh|zsh|rails|gitlab-rails"
    r"|gitlab-psql|gitlab-redis-cli|ssh|su|ping6?|tcpdump|vmstat|iostat|mpstat|pidstat|sar|dstat"
    r"|nfsiostat|chroot|virtctl)(?=$|[\s;&|)]))"
)
"""A cheap test: only a text with one of these words or flags can be interactive."""
_FOLLOW = frozenset({"-f", "--follow", "-F"})
_SCREENS = frozenset(
    {
        "top",
        "htop",
        "atop",
        "btop",
        "iotop",
        "iftop",
        "nethogs",
        "glances",
        "nmon",
        "k9s",
        "less",
        "more",
        "most",
        "vim",
        "vi",
        "nvim",
        "nano",
        "emacs",
        "pico",
        "mc",
        "man",
        "tmux",
        "screen",
        "visudo",
        "vipw",
        "mtr",
        "ctop",
        "lazydocker",
        "ipython",
        "irb",
        "tig",
    }
)
_FOLLOWERS = frozenset({"stern", "kubetail", "multitail", "lnav"})
_SAMPLERS = frozenset({"vmstat", "iostat", "mpstat", "pidstat", "sar", "dstat", "nfsiostat"})
_REDIS_STREAMING = frozenset({"MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"})
_SQL_CLIENT_QUERY = frozenset({"-c", "--command", "-f", "--file", "-e", "--execute", "-l"})
_REDIS_ARGS = frozenset(
    {"-h", "-p", "-a", "-n", "-u", "-s", "--user", "--pass", "--tls", "-c", "--cacert"}
)


def interactive_reason(text: str, kind: str) -> str | None:
    """Why a step never ends or needs a terminal, or None when it runs and ends by itself."""
    if kind == "redis":
        first = text.split(None, 1)[0].upper() if text.split() else ""
        return f"{first} streams until stopped" if first in _REDIS_STREAMING else None
    if kind not in ("shell", "kubectl", "docker"):
        return None
    return _shell_reason(text)


@functools.lru_cache(maxsize=4096)
def _shell_reason(text: str) -> str | None:
    if not _MAYBE.search(text):
        return None
    parsed = tokenize(text)
    piped_input = False
    for cmd in parsed.commands:
        words, bounded = _unwrap(list(cmd.words))
        fed = bool(cmd.heredoc) or any(op in ("<", "<<", "<<-", "<<<") for op, _ in cmd.redirects)
        fed = fed or (cmd.op_before in ("|", "|&"))
        reason = _reason(words, fed=fed or piped_input)
        piped_input = False
        if reason is None:
            continue
        kind, why = reason
        if kind == "unbounded" and bounded:
            continue
        return why
    return None


def _unwrap(words: list[str]) -> tuple[list[str], bool]:
    """Words without env assignments and wrappers; True when a ``timeout`` bounds them."""
    bounded = False
    while words:
        head = words[0]
        if re.match(r"^[A-Za-z_]\w*=", head) or head in ("nohup", "time", "exec", "command", "!"):
            words = words[1:]
        elif head in ("sudo", "env", "nice", "ionice", "stdbuf"):
            if head == "sudo" and any(w in ("-i", "-s", "--login", "--shell") for w in words[1:3]):
                return words, bounded
            i = 1
            while i < len(words) and (words[i].startswith("-") or "=" in words[i]):
                i += 2 if words[i] in ("-u", "-g", "-n", "-c") else 1
            words = words[i:]
        elif head == "timeout":
            bounded = True
            i = 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-s", "-k", "--signal", "--kill-after") else 1
            words = words[i + 1 :]
        else:
            break
    return words, bounded


def _reason(words: list[str], *, fed: bool) -> tuple[str, str] | None:
    """("terminal" | "unbounded", why) for one simple command, or None."""
    if not words:
        return None
    prog = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if prog == "chroot" and len(args) <= 1:
        return "terminal", "chroot without a command opens a shell"
    if prog == "virtctl" and args[:1] in (["console"], ["vnc"], ["ssh"]):
        return "terminal", f"virtctl {args[0]} needs a terminal"
    if prog == "sudo" and any(a in ("-i", "-s", "--login", "--shell") for a in args):
        return "terminal", "sudo -i opens an interactive root shell"
    if prog in ("su",) and not ("-c" in args or "--command" in args):
        return "terminal", "su opens an interactive shell"
    if prog in _SCREENS:
        if prog == "top" and "-b" in args and any(a.startswith("-n") for a in args):
            return None
        if prog in ("less", "more", "most") and fed:
            return "terminal", f"{prog} pages its input in a terminal"
        return "terminal", f"{prog} is a full-screen program that needs a terminal"
    if prog == "watch":
        return "unbounded", "watch repeats the command until stopped"
    if prog in _FOLLOWERS:
        return "unbounded", f"{prog} follows logs until stopped"
    if prog in ("tail", "journalctl", "dmesg") and _follows(args, prog):
        return "unbounded", f"{prog} {_flag(args)} follows output until stopped"
    if prog in ("kubectl", "oc", "k"):
        return _kubectl(args)
    if prog in ("docker", "podman", "nerdctl"):
        return _docker(prog, args)
    if prog in ("psql", "mysql", "mariadb", "sqlite3", "pgcli", "mycli"):
        if fed or any(a in _SQL_CLIENT_QUERY or a.startswith(("--command=", "-c")) for a in args):
            return None
        if prog == "mysql" and any(a.startswith("-e") or a.startswith("--execute") for a in args):
            return None
        if prog == "sqlite3" and len(positionals(args, frozenset())) > 1:
            return None
        return "terminal", f"{prog} without a query opens an interactive session"
    if prog in ("redis-cli", "valkey-cli", "keydb-cli"):
        return _redis_cli(prog, args, fed)
    if prog in ("mongosh", "mongo", "cypher-shell", "cqlsh", "etcdctl-shell"):
        if fed or "--eval" in args or "-e" in args or "--execute" in args or "-f" in args:
            return None
        if prog == "cypher-shell" and positionals(args, frozenset({"-a", "-u", "-p", "-d"})):
            return None
        return "terminal", f"{prog} without a query opens an interactive session"
    if prog in ("python", "python3", "node", "bash", "sh", "zsh", "irb", "rails") and not args:
        if fed:
            return None
        return "terminal", f"{prog} with no script opens an interactive session"
    if prog == "rails" and args[:1] in (["console"], ["c"], ["dbconsole"]):
        return "terminal", "rails console is an interactive session"
    if (
        prog in ("gitlab-rails", "gitlab-psql", "gitlab-redis-cli")
        and (not args or args[:1] in (["console"], ["c"], ["dbconsole"]))
        and not fed
    ):
        return "terminal", f"{prog} {' '.join(args[:1])}".strip() + " is an interactive session"
    if prog == "gitlab-ctl" and args[:1] == ["tail"]:
        return "unbounded", "gitlab-ctl tail follows logs until stopped"
    if prog == "ssh":
        pos = positionals(args, frozenset({"-i", "-p", "-l", "-o", "-J", "-F", "-L", "-R", "-D"}))
        if len(pos) <= 1 and not fed and "-N" not in args:
            return "terminal", "ssh without a command opens an interactive session"
        if "-N" in args:
            return "unbounded", "ssh -N holds a tunnel open until stopped"
        inner = _reason(pos[1:], fed=False) if len(pos) > 1 else None
        if inner is not None:
            return inner[0], f"over ssh: {inner[1]}"
        if "-t" in args or "-tt" in args:
            return "terminal", "ssh -t runs the command in a terminal"
    if prog in _SAMPLERS:
        nums = [a for a in args if a.isdigit()]
        if len(nums) == 1:
            return "unbounded", f"{prog} {nums[0]} samples until stopped (no count)"
    if prog in ("ping", "ping6") and not any(a.startswith(("-c", "-w")) for a in args):
        return "unbounded", f"{prog} without -c pings until stopped"
    if prog == "tcpdump" and not any(a.startswith("-c") for a in args) and "-r" not in args:
        return "unbounded", "tcpdump without -c captures until stopped"
    if prog in ("crontab",) and "-e" in args:
        return "terminal", "crontab -e opens an editor"
    if prog == "systemctl" and args[:1] == ["edit"]:
        return "terminal", "systemctl edit opens an editor"
    if prog == "helm" and "--wait" not in args and args[:1] == ["status"] and "--watch" in args:
        return "unbounded", "helm status --watch follows until stopped"
    if prog in ("aws",) and args[:2] == ["logs", "tail"] and "--follow" in args:
        return "unbounded", "aws logs tail --follow follows logs until stopped"
    if prog == "az" and args[:3] == ["webapp", "log", "tail"]:
        return "unbounded", "az webapp log tail follows logs until stopped"
    if prog == "gcloud" and "tail" in args[:4]:
        return "unbounded", "gcloud … tail follows logs until stopped"
    return None


def _follows(args: list[str], prog: str) -> bool:
    if prog == "dmesg":
        return any(a in ("-w", "--follow", "-W", "--follow-new") for a in args)
    return any(
        (a in _FOLLOW and not (prog == "journalctl" and a == "-F"))  # journalctl -F: a field
        or (a.startswith("-") and not a.startswith("--") and a[1:].isalpha() and "f" in a[1:])
        for a in args
    )


def _flag(args: list[str]) -> str:
    return next((a for a in args if a.startswith("-") and ("f" in a or "F" in a)), "-f")


def _kubectl(args: list[str]) -> tuple[str, str] | None:
    pos = positionals(args, frozenset({"-n", "--namespace", "-c", "--container", "--context"}))
    sub = pos[0] if pos else ""
    if sub == "edit":
        return "terminal", "kubectl edit opens an editor"
    if sub in ("exec", "attach", "run", "debug") and _tty(_before_dashes(args)):
        return "terminal", f"kubectl {sub} -it needs a terminal"
    if sub == "attach":
        return "unbounded", "kubectl attach streams until stopped"
    if sub in ("port-forward", "proxy"):
        return "unbounded", f"kubectl {sub} runs until stopped"
    if sub == "logs" and any(a in ("-f", "--follow") or a == "--follow=true" for a in args):
        return "unbounded", "kubectl logs -f follows logs until stopped"
    if any(a in ("-w", "--watch", "--watch-only") or a == "--watch=true" for a in args):
        return "unbounded", f"kubectl {sub} --watch watches until stopped"
    if sub == "rollout" and pos[1:2] == ["status"] and "--timeout" not in " ".join(args):
        return None  # ends when the rollout does
    return None


def _docker(prog: str, args: list[str]) -> tuple[str, str] | None:
    pos = positionals(args, frozenset({"-e", "--env", "-u", "--user", "-w", "--workdir", "-f"}))
    sub = pos[0] if pos else ""
    if sub == "compose" or prog == "docker-compose":
        sub = pos[1] if len(pos) > 1 else ""
    if sub in ("exec", "run", "attach") and sub in args:
        flags: list[str] = []
        rest = args[args.index(sub) + 1 :]
        i = 0
        while i < len(rest) and rest[i].startswith("-"):
            flags.append(rest[i])
            i += 2 if rest[i] in _DOCKER_VALUE_FLAGS else 1
        if _tty(flags):
            return "terminal", f"{prog} {sub} -it needs a terminal"
    if sub == "attach":
        return "unbounded", f"{prog} attach streams until stopped"
    if sub == "logs" and any(a in ("-f", "--follow") for a in args):
        return "unbounded", f"{prog} logs -f follows logs until stopped"
    if sub == "stats" and "--no-stream" not in args:
        return "unbounded", f"{prog} stats streams until stopped (add --no-stream)"
    if sub == "events" and "--until" not in " ".join(args):
        return "unbounded", f"{prog} events streams until stopped"
    return None


def _redis_cli(prog: str, args: list[str], fed: bool) -> tuple[str, str] | None:
    pos = positionals(args, _REDIS_ARGS)
    if any(a in ("--stat", "--latency", "--latency-history", "--monitor") for a in args):
        return (
            "unbounded",
            f"{prog} {next(a for a in args if a.startswith('--'))} runs until stopped",
        )
    if not pos:
        if fed or any(
            a in ("--bigkeys", "--memkeys", "--scan", "--hotkeys", "--rdb") for a in args
        ):
            return None
        return "terminal", f"{prog} without a command opens an interactive session"
    if pos[0].upper() in _REDIS_STREAMING:
        return "unbounded", f"{prog} {pos[0].upper()} streams until stopped"
    return None


_DOCKER_VALUE_FLAGS = frozenset(
    {
        "-e",
        "--env",
        "-u",
        "--user",
        "-w",
        "--workdir",
        "--name",
        "-v",
        "--volume",
        "-p",
        "--network",
    }
)


def _tty(flags: list[str]) -> bool:
    """True when the flags ask for a terminal (``-t``, ``-it``, ``--tty``)."""
    return any(
        f in ("--tty", "--tty=true") or re.fullmatch(r"-[a-zA-Z]*t[a-zA-Z]*", f) is not None
        for f in flags
        if not f.startswith("--") or f.startswith("--tty")
    )


def _before_dashes(args: list[str]) -> list[str]:
    return args[: args.index("--")] if "--" in args else args


_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # (a follower or watcher, its form that ends by itself)
    (
        re.compile(r"^(\s*(?:sudo\s+)?tail\s+(?:.*\s)?)(?:-f|-F|--follow(?:=\w+)?)(?=\s|$)"),
        r"\1-n 200",
    ),
    (
        re.compile(r"^(\s*(?:sudo\s+)?journalctl\s+(?:.*\s)?)-f([a-zA-Z]*)(?=\s|$)"),
        r"\1-n 200 --no-pager -\2",
    ),
    (
        re.compile(r"^(\s*(?:sudo\s+)?journalctl\s+(?:.*\s)?)--follow(?=\s|$)"),
        r"\1-n 200 --no-pager",
    ),
    (
        re.compile(
            r"^(\s*(?:kubectl|oc)\s+(?:.*\s)?logs\s+(?:.*\s)?)(?:-f|--follow(?:=true)?)(?=\s|$)"
        ),
        r"\1--tail=200",
    ),
    (
        re.compile(r"^(\s*(?:kubectl|oc)\s+(?:.*\s)?)-f\s+(?=(?:.*\s)?logs\b)"),
        r"\1--tail=200 ",
    ),
    (
        re.compile(
            r"^(\s*(?:sudo\s+)?(?:docker|podman)\s+(?:.*\s)?logs\s+(?:.*\s)?)(?:-f|--follow)(?=\s|$)"
        ),
        r"\1--tail 200",
    ),
    (re.compile(r"^(\s*(?:kubectl|oc)\s+.*?)\s+(?:-w|--watch(?:=true)?)(?=\s|$)"), r"\1"),
    (re.compile(r"^(\s*(?:sudo\s+)?(?:docker|podman)\s+stats)(?=\s|$)"), r"\1 --no-stream"),
    (re.compile(r"^\s*watch\s+(?:(?:-n\s*\S+|--interval[= ]\S+|-[a-zA-Z]+)\s+)*"), ""),
    (re.compile(r"^(\s*(?:sudo\s+)?ping6?)(?=\s)"), r"\1 -c 5"),
    (re.compile(r"^(\s*(?:vmstat|iostat|mpstat|pidstat|sar)\b.*\s\d+)\s*$"), r"\1 5"),
    (re.compile(r"^\s*top\s*$"), "top -b -n 1"),
)


def bounded_form(text: str, kind: str) -> str | None:
    """A form of an unbounded command that ends by itself (``tail -f x`` → ``tail -n 200 x``,
    ``kubectl logs -f`` → ``--tail=200``, ``watch CMD`` → ``CMD``, ``ping h`` → ``ping -c 5
    h``), or None when there is none (a terminal session, an editor, a stream)."""
    if kind not in ("shell", "kubectl", "docker") or "\n" in text.strip():
        return None
    for pattern, repl in _REWRITES:
        if pattern.search(text):
            out = pattern.sub(repl, text, count=1).strip()
            out = re.sub(r"\s+-(?=\s|$)", "", out)  # "-fu x" → "-u x" leaves no bare "-"
            if out and out != text.strip() and _shell_reason(out) is None:
                return out
            return None
    return None
