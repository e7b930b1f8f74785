"""Keep secrets out of everything a result carries: summary, command, blocks, error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from opsbook.executors.models import (
    MASK,
    Block,
    ChartBlock,
    CodeBlock,
    StepResult,
    TableBlock,
    TextBlock,
)

_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)([^@\s/]+)(@)")


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value), quote_plus(value)}


def redact_values(text: str, values: Iterable[str]) -> str:
    """``text`` with every value (and its URL-encoded forms) replaced by ``******``."""
    forms: set[str] = set()
    for value in values:
        if value:
            forms |= _forms(value)
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact(text: str, secrets: Mapping[str, SecretStr]) -> str:
    """``text`` with every secret value, plain or URL-encoded, replaced by ``******``."""
    return redact_values(text, (s.get_secret_value() for s in secrets.values()))


def mask_url_passwords(text: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:******@host`` wherever it appears."""
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)


def _clean(text: str, values: list[str]) -> str:
    return mask_url_passwords(redact_values(text, values))


def _block(block: Block, values: list[str]) -> Block:
    if isinstance(block, TextBlock):
        return TextBlock(_clean(block.text, values))
    if isinstance(block, CodeBlock):
        return CodeBlock(_clean(block.text, values), block.language)
    if isinstance(block, TableBlock):
        return TableBlock(
            [_clean(c, values) for c in block.columns],
            [[_clean(v, values) for v in row] for row in block.rows],
            block.truncated,
        )
    series: list[dict[str, Any]] = [
        {**s, "name": _clean(str(s.get("name", "")), values)} for s in block.series
    ]
    return ChartBlock(_clean(block.title, values), series)


def redact_result(result: StepResult, values: Iterable[str]) -> StepResult:
    """A copy of ``result`` with every string cleaned of ``values`` and URL passwords."""
    vals = [v for v in values if v]
    return replace(
        result,
        summary=_clean(result.summary, vals),
        command=_clean(result.command, vals),
        blocks=tuple(_block(b, vals) for b in result.blocks),
    )
