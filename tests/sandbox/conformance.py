"""Checking served records against the published field sets kept in sandbox/emulators/api_facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def type_problem(ftype: str, nullable: bool, value: Any) -> str | None:
    if value is None:
        return None if nullable else "null, but the field is not nullable"
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "list": isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list),
        "expandable": isinstance(value, str | dict),
        "timestamp": isinstance(value, str) and _is_iso(value),
    }[ftype]
    return None if ok else f"{value!r} is not {ftype}"


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def problems(
    record: dict[str, Any], fields: dict[str, dict[str, Any]], allowed_extra: set[str] = frozenset()
) -> list[str]:
    """Every documented field present with its type, and nothing undocumented."""
    out = [f"missing {name}" for name in fields if name not in record]
    out += [f"undocumented {name}" for name in record if name not in fields and name not in allowed_extra]
    for name, spec in fields.items():
        if name in record:
            problem = type_problem(spec["type"], spec["nullable"], record[name])
            if problem:
                out.append(f"{name}: {problem}")
    return out
