"""Plain-Python coercion of the CLI's simple options (str, int, float, bool and lists of them).

Typer builds a pydantic ``TypeAdapter`` per option of the invoked command; importing pydantic
for that costs ~150-250 ms, half of what `opsbook incidents list` may take. ``install()`` makes
options of those plain types convert in Python, with pydantic's own messages, and leaves every
other option (paths, enums, ranges, parsers, files) to typer's adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer import _coercion, core
from typer._click.exceptions import BadParameter
from typer._typing import get_args, get_origin

_MESSAGES = {
    int: "Input should be a valid integer, unable to parse string as an integer",
    float: "Input should be a valid number, unable to parse string as a number",
}
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _convert(kind: type, value: Any) -> Any:
    """``value`` as ``kind``; ValueError with pydantic's message when it is not one."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is str:
        if isinstance(value, bytes):
            return value.decode()
        raise ValueError("Input should be a valid string")
    if kind is bool:
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("Input should be a valid boolean, unable to interpret input")
    try:
        return kind(str(value).strip())
    except ValueError:
        raise ValueError(_MESSAGES[kind]) from None


@dataclass(frozen=True)
class PlainRuntimeParam(_coercion.RuntimeParam):
    """Converts one plain value, or each item of a list of them."""

    kind: type
    many: bool

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            if self.many:
                items = value if isinstance(value, list | tuple) else [value]
                return [_convert(self.kind, v) for v in items]
            return _convert(self.kind, value)
        except ValueError as exc:
            raise BadParameter(str(exc), ctx=ctx, param=param) from None


def _plain(descriptor: _coercion.TypeDescriptor) -> PlainRuntimeParam | None:
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None:
        return None
    if info.min is not None or info.max is not None:
        return None
    annotation: Any = descriptor.annotation
    many = False
    origin: Any = get_origin(annotation)
    if origin is list and len(get_args(annotation)) == 1:
        annotation, many = get_args(annotation)[0], True
    if annotation not in (str, int, float, bool):
        return None
    return PlainRuntimeParam(info, descriptor.annotation, kind=annotation, many=many)


_original = _coercion.build_runtime_param


def _build(descriptor: _coercion.TypeDescriptor) -> _coercion.RuntimeParam:
    return _plain(descriptor) or _original(descriptor)


def install() -> None:
    """Route typer's option coercion through :func:`_plain` first (idempotent)."""
    core.build_runtime_param = _build  # type: ignore[attr-defined]  # the name core calls
