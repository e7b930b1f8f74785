"""Front matter at the top of a runbook: YAML between ``---`` lines or TOML between ``+++``
(as Hugo writes). Read safely; a malformed block is reported, never raised."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

import yaml

_MAX_FRONT_MATTER = 64 * 1024


def split_front_matter(text: str) -> tuple[dict[str, object], str, str | None]:
    """(front matter, body with the block blanked out, error). Line numbers are preserved."""
    if not (text.startswith("---") or text.startswith("+++")):
        return {}, text, None
    fence = text[:3]
    lines = text.split("\n")
    if lines[0].rstrip() != fence:
        return {}, text, None
    end = None
    for i in range(1, min(len(lines), 2000)):
        if lines[i].rstrip() in (fence, "...") and (fence == "---" or lines[i].rstrip() == fence):
            end = i
            break
    if end is None:
        return {}, text, None
    raw = "\n".join(lines[1:end])
    body = "\n" * end + "\n" + "\n".join(lines[end + 1 :])
    if len(raw) > _MAX_FRONT_MATTER:
        return {}, body, "front matter too large; ignored"
    data, error = _load(raw, toml=fence == "+++")
    if error is not None:
        return {}, text, error
    return data, body, None


def _load(raw: str, *, toml: bool) -> tuple[dict[str, object], str | None]:
    try:
        loaded: object = tomllib.loads(raw) if toml else yaml.safe_load(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        return {}, f"front matter is not valid {'TOML' if toml else 'YAML'}: {exc}".splitlines()[0]
    if loaded is None:
        return {}, None
    if not isinstance(loaded, Mapping):
        return {}, "front matter is not a mapping; ignored"
    return {str(k): v for k, v in loaded.items()}, None


def string_values(value: object) -> list[str]:
    """A front-matter value as a list of strings (a scalar, or the scalars of a list)."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value).strip()] if str(value).strip() else []
    if isinstance(value, list | tuple):
        return [
            str(v).strip() for v in value if isinstance(v, str | int | float) and str(v).strip()
        ]
    return []
