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
                    ]
                    assert st["safety"] in ("read-only", "mutating", "destructive", "unknown")
                    assert isinstance(st["variables"], list)
