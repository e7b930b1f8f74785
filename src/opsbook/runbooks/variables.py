"""Variables a step needs before it can run: ``$REDIS_URL``, ``${NEO4J_URI}``, ``<pod-name>``,
``[RELEASE]`` and ``{{ value }}``. Shell specials (``$?``, ``$1``, ``$(…)``), well-known
environment variables, HTML tags and ``<``/``>`` comparisons are not variables."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(text.split())


_ANY_MARK = re.compile(r"[$<\[{]")
_TEMPLATE = re.compile(r"\{\{-?\s*([^{}]*?)\s*-?\}\}")
_TEMPLATE_NAME = re.compile(r"^[.$]*([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)")
_BRACED = re.compile(r"(?<![\\$])\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:#%/^,@\[][^}]*)?\}")
_DOLLAR = re.compile(r"(?<![\\$])\$([A-Za-z_][A-Za-z0-9_]*)(?![\w(])")
_ANGLE = re.compile(
    r"(?<![<\w])<([A-Za-z][A-Za-z0-9_.\-]*(?:[ _][A-Za-z0-9][A-Za-z0-9_.\-]*){0,3})>(?![>\w])"
)
_BRACKET = re.compile(r"(?<![\w\]\[$])\[([A-Z][A-Z0-9_\-]+)\](?![\w(\[])")

SHELL_BUILTINS = _words("""HOME PATH PWD OLDPWD USER LOGNAME SHELL TERM LANG LC_ALL HOSTNAME
UID EUID PPID RANDOM LINENO SECONDS IFS BASH BASH_SOURCE BASH_VERSION FUNCNAME PIPESTATUS
REPLY OPTARG OPTIND HISTFILE TMPDIR EDITOR PS1 PS2 SHLVL NF NR FS OFS RS ORS FILENAME FNR
DISPLAY COLUMNS LINES MACHTYPE OSTYPE HOSTTYPE""")
HTML_TAGS = _words("""a abbr address area article aside audio b base bdi bdo blockquote body
br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog
div dl dt em embed fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr
html i iframe img input ins kbd label legend li link main map mark meta meter nav noscript
object ol optgroup option output p param picture pre progress q rp rt ruby s samp script
section select slot small source span strike strong style sub summary sup svg table tbody td
template textarea tfoot th thead time title tr track tt u ul var video wbr path g""")


def find_variables(text: str) -> list[str]:
    """Names of the variables in a command, in order of first appearance, without repeats."""
    if not _ANY_MARK.search(text):
        return []
    found: list[tuple[int, str]] = []
    masked = text
    # each pattern only where its opening character is (most commands hold one kind or none)
    for m in _TEMPLATE.finditer(text) if "{{" in text else ():
        nm = _TEMPLATE_NAME.match(m.group(1).strip())
        if nm:
            found.append((m.start(), nm.group(1)))
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    dollar = "$" in masked
    for m in _BRACED.finditer(masked) if dollar else ():
        found.append((m.start(), m.group(1)))
    for m in _DOLLAR.finditer(masked) if dollar else ():
        found.append((m.start(), m.group(1)))
    for m in _ANGLE.finditer(masked) if "<" in masked else ():
        name = m.group(1)
        if name.lower() in HTML_TAGS or name.lower().startswith(("h1", "h2", "h3")):
            continue
        found.append((m.start(), name))
    for m in _BRACKET.finditer(masked) if "[" in masked else ():
        name = m.group(1)
        if re.fullmatch(r"[A-Z]-[A-Z]|[A-Z]", name):
            continue
        found.append((m.start(), name))
    out: list[str] = []
    for _, name in sorted(found):
        if name in SHELL_BUILTINS or name.startswith("__") or name in out:
            continue
        out.append(name)
    return out


_ASSIGNED = re.compile(
    r"\s*(?:(?:export|local|readonly|declare|typeset)\s+(?:-\w+\s+)*)?([A-Za-z_][A-Za-z0-9_]*)\+?="
)
_COMMAND_SPLIT = re.compile(r"[\n;]|&&|\|\|")
_LOOP_VAR = re.compile(
    r"\b(?:for|select)\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b|\bread\s+(?:-\w+\s+)*"
    r"([A-Za-z_][A-Za-z0-9_]*(?:\s+[A-Za-z_][A-Za-z0-9_]*)*)"
)


def assigned_names(script: str) -> set[str]:
    """Names a script sets itself (``DATE=…``, ``export X=…``, ``for f in``, ``read x``)."""
    if "=" not in script and " in " not in script and "read" not in script:
        return set()
    names: set[str] = set()
    for part in _COMMAND_SPLIT.split(script):
        if "=" in part:
            m = _ASSIGNED.match(part)
            if m:
                names.add(m.group(1))
    for m in _LOOP_VAR.finditer(script):
        if m.group(1):
            names.add(m.group(1))
        if m.group(2):
            names.update(m.group(2).split())
    return names
