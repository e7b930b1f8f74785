"""find_variables(): what a step needs resolved before it can run, and what is not a variable."""

from __future__ import annotations

import pytest

from opsbook.runbooks.variables import assigned_names, find_variables


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis-cli -u $REDIS_URL ping", ["REDIS_URL"]),
        ('cypher-shell -a ${NEO4J_URI} -p "${NEO4J_PASSWORD}"', ["NEO4J_URI", "NEO4J_PASSWORD"]),
        ("echo ${TIMEOUT:-30}", ["TIMEOUT"]),
        ("kubectl logs <pod-name> -n <namespace>", ["pod-name", "namespace"]),
        ("helm rollback <release> <rev>", ["release", "rev"]),
        ("Investigating [SERVICE] for [ALERT_NAME]", ["SERVICE", "ALERT_NAME"]),
        ("curl {{ API_BASE }}/healthz", ["API_BASE"]),
        ("curl {{API_BASE}}/healthz", ["API_BASE"]),
        ("summary: {{ $labels.instance }} down", ["labels.instance"]),
        ("MATCH (u:User {id: $userId}) RETURN u", ["userId"]),
        ("curl $API_BASE/a $API_BASE/b", ["API_BASE"]),  # once, in order
        # not variables
        ("echo $? $# $$ $! $1 ${2}", []),
        ("ls $(pwd) `date`", []),
        ("echo $((1 + 2))", []),
        ("cd $HOME && echo $PATH $USER", []),
        ("awk '{print $1, $NF}'", []),
        ("SELECT * FROM t WHERE a < b AND c > d", []),
        ("SELECT * FROM t WHERE a<5", []),
        ("<br/> <div class='x'>hi</div> <b>bold</b>", []),
        ("see <https://example.com> or <me@example.com>", []),
        ("cmd 2>&1 < input.sql > out.txt", []),
        ("rate(x[5m]) and grep '[0-9]' and [ -f x ] and [A-Z]", []),
        ("price is \\$5", []),
        ("List<String> x", []),  # a generic type
    ],
)
def test_find_variables(text: str, expected: list[str]) -> None:
    assert find_variables(text) == expected


def test_names_a_script_sets_itself() -> None:
    script = "DATE=$(date)\nexport DIR=/b\nfor f in a b; do echo $f; done\nread -r answer"
    assert assigned_names(script) == {"DATE", "DIR", "f", "answer"}
