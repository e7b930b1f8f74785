"""to_json_dict(): the documented JSON structure, exactly (golden)."""

from __future__ import annotations

import json

from opsbook.runbooks.export import to_json_dict

from .conftest import parse

DOC = """
# Ops

## High Error Rate

**Alert:** `HighErrorRate`
**Severity:** Critical (P0)
**Threshold:** >5% for 5 minutes

### Symptoms
- 5xx responses

### Investigation Steps
1. **Error ratio**
   ```promql
   rate(http_requests_total{code=~"5.."}[5m])
   ```
2. Read the logs
"""

GOLDEN = {
    "runbooks": [
        {
            "path": "ops.md",
            "title": "Ops",
            "sections": [
                {
                    "id": "high-error-rate",
                    "heading": "High Error Rate",
                    "line": 3,
                    "alerts": ["HighErrorRate"],
                    "severity": "Critical (P0)",
                    "severity_normalized": "P0",
                    "threshold": ">5% for 5 minutes",
                    "symptoms": ["5xx responses"],
                    "phases": [
                        {
                            "phase": "investigate",
                            "label": "Investigation Steps",
                            "line": 12,
                            "steps": [
                                {
                                    "line": 15,
                                    "title": "Error ratio",
                                    "text": 'rate(http_requests_total{code=~"5.."}[5m])',
                                    "executable": True,
                                    "kind": "promql",
                                    "inner_kind": None,
                                    "safety": "read-only",
                                    "reason": "PromQL query only reads metrics",
                                    "variables": [],
                                    "interactive": False,
                                    "interactive_reason": "",
                                },
                                {
                                    "line": 17,
                                    "title": "",
                                    "text": "Read the logs",
                                    "executable": False,
                                    "kind": "text",
                                    "inner_kind": None,
                                    "safety": "read-only",
                                    "reason": "an instruction for a person; nothing runs",
                                    "variables": [],
                                    "interactive": False,
                                    "interactive_reason": "",
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def test_golden_structure() -> None:
    assert to_json_dict([parse(DOC, "ops.md")]) == GOLDEN


def test_keys_are_exactly_the_documented_ones(seeds: dict) -> None:  # type: ignore[type-arg]
    data = to_json_dict(seeds.values())
    json.dumps(data)  # serialisable as is
    for rb in data["runbooks"]:
        assert list(rb) == ["path", "title", "sections"]
        for s in rb["sections"]:
            assert list(s) == [
                "id",
                "heading",
                "line",
                "alerts",
                "severity",
                "severity_normalized",
                "threshold",
                "symptoms",
                "phases",
            ]
            for p in s["phases"]:
                assert list(p) == ["phase", "label", "line", "steps"]
                assert p["phase"] in (
                    "general",
                    "detect",
                    "investigate",
                    "mitigate",
                    "validate",
                    "escalate",
                    "postmortem",
                )
                for st in p["steps"]:
                    assert list(st) == [
                        "line",
                        "title",
                        "text",
                        "executable",
                        "kind",
                        "inner_kind",
                        "safety",
                        "reason",
                        "variables",
                        "interactive",
                        "interactive_reason",
                    ]
                    assert st["safety"] in ("read-only", "mutating", "destructive", "unknown")
                    assert isinstance(st["variables"], list)


def test_the_documented_example_is_what_the_reader_exports() -> None:
    import re

    from opsbook.runbooks.catalog import load_paths

    from .conftest import REPO

    doc = (REPO / "docs" / "runbook-format.md").read_text()
    block = re.search(r"```json\n(.*?)```", doc, re.S)
    assert block is not None
    shown = json.loads(block.group(1))["runbooks"][0]
    actual = to_json_dict(load_paths(["examples/runbooks/checkout-api.md"], REPO))["runbooks"][0]
    assert (shown["path"], shown["title"]) == (actual["path"], actual["title"])
    section = next(s for s in actual["sections"] if s["id"] == shown["sections"][0]["id"])
    expected = shown["sections"][0]
    for key in ("heading", "line", "alerts", "severity", "severity_normalized", "threshold"):
        assert section[key] == expected[key]
    assert section["symptoms"][0] == expected["symptoms"][0]
    phase = section["phases"][0]
    assert {k: phase[k] for k in ("phase", "label", "line")} == {
        k: expected["phases"][0][k] for k in ("phase", "label", "line")
    }
    assert phase["steps"][0] == expected["phases"][0]["steps"][0]
