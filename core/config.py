"""The product's settings: one loader for every layer.

A key such as `sources.salesforce.login_url` is looked up, first match wins, in:

1. the environment variable named like it: upper case, sections joined by `__`
   (`SOURCES__SALESFORCE__LOGIN_URL`);
2. `.dlt/secrets.toml` (not committed);
3. `.dlt/config.toml` (committed: what a real deployment shares);
4. in the sandbox only (`COPILOT_ENV=sandbox`), `.dlt/sandbox.toml`: the emulators' URLs and their
   published credentials.

The same files and names dlt uses, so the loaders' own settings (`[runtime]` retries, ...) sit beside
ours. Code holds no URL of any service: a production deployment that misses one gets a ConfigError
naming the key, never a silent call to the sandbox on 127.0.0.1.

What a deployment cannot get wrong silently:

- `COPILOT_ENV` has no default: `production`, `ci` or `sandbox` is set explicitly (the Makefile's
  sandbox targets and the tests set `sandbox`), so a deployment never reads the sandbox's published
  credentials because someone forgot to say it is not the sandbox;
- every URL setting (a key ending in `url`) that is plain `http://` must point at this machine
  (127.0.0.0/8, ::1, localhost); anything else must be `https://`;
- credentials (`secret`) come from the environment or `.dlt/secrets.toml` (the sandbox's published
  ones from `.dlt/sandbox.toml`), never from the committed `.dlt/config.toml`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / ".dlt"

T = TypeVar("T")
REQUIRED: Any = object()
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
ENVIRONMENTS = ("production", "ci", "sandbox")
SECRET_FILES = ("secrets.toml", "sandbox.toml")


class ConfigError(Exception):
    """A setting that is missing or wrong, phrased for the person deploying."""


def environment() -> str:
    """`production`, `ci` or `sandbox`, from COPILOT_ENV, which must be set: only the sandbox reads
    `.dlt/sandbox.toml`, and a deployment that forgot to say so must not."""
    value = os.environ.get("COPILOT_ENV", "").strip().lower()
    if value not in ENVIRONMENTS:
        said = f"COPILOT_ENV={os.environ['COPILOT_ENV']!r} is not" if value else "COPILOT_ENV is not set: it must be"
        raise ConfigError(
            f"{said} one of {', '.join(ENVIRONMENTS)}: set COPILOT_ENV=production for a deployment "
            "(COPILOT_ENV=sandbox runs on the sandbox company and its published credentials)"
        )
    return value


def env_name(key: str) -> str:
    """The environment variable that sets `key`: `sources.stripe.base_url` -> SOURCES__STRIPE__BASE_URL."""
    return key.upper().replace(".", "__")


def get(key: str, kind: type[T], default: T = REQUIRED) -> T:
    """The value of `key` as `kind` (str, int, float, bool or list). Without a value: `default`, or a
    ConfigError naming the key when no default is given (URLs and credentials have none)."""
    return _get(key, kind, default, documents())


def _get(key: str, kind: type[T], default: T, files: list[tuple[str, dict[str, Any]]]) -> T:
    raw = os.environ.get(env_name(key))
    if raw is not None:
        return _url_checked(key, _from_text(key, raw, kind), env_name(key))
    for where, document in files:
        value = _lookup(document, key)
        if value is not None:
            return _url_checked(key, _checked(key, value, kind, where), where)
    if default is REQUIRED:
        raise ConfigError(f"missing setting `{key}`: set {env_name(key)} or add it to .dlt/config.toml")
    return default


def secret(key: str, required: bool = True) -> str | None:
    """A credential: from the environment or `.dlt/secrets.toml` (in the sandbox also its published
    ones), never from the committed `.dlt/config.toml`; the message points at `.dlt/secrets.toml`."""
    files = documents()
    for where, document in files:
        if where.endswith("config.toml") and _lookup(document, key) is not None:
            raise ConfigError(
                f"`{key}` is a secret and must not be in .dlt/config.toml (committed): move it to "
                f".dlt/secrets.toml or set {env_name(key)}"
            )
    try:
        return _get(key, str, REQUIRED, [(w, d) for w, d in files if w.endswith(SECRET_FILES)])
    except ConfigError as exc:
        if not str(exc).startswith("missing setting"):
            raise
        if required:
            raise ConfigError(f"missing secret `{key}`: set {env_name(key)} or add it to .dlt/secrets.toml") from None
        return None


def check_url(key: str, value: str, where: str) -> str:
    """`value` unchanged when it is https://, or http:// to this machine; else a ConfigError naming the
    setting: a plain http:// call to another host sends credentials and personal data in clear text."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() != "http":
        return value
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"`{key}` ({where}) is plain http:// to {host or 'no host'}, which is not this machine: use https://"
        )
    return value


def _url_checked(key: str, value: T, where: str) -> T:
    if key.rsplit(".", 1)[-1].endswith("url") and isinstance(value, str):
        check_url(key, value, where)
    return value


def section(key: str) -> dict[str, Any]:
    """The keys set under a section in any file (environment variables cannot list keys)."""
    merged: dict[str, Any] = {}
    for _, document in reversed(documents()):
        found = _lookup(document, key)
        if isinstance(found, dict):
            merged |= found
    return merged


def resolve_path(value: str | Path) -> Path:
    """A path from a setting: relative paths are relative to the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def documents() -> list[tuple[str, dict[str, Any]]]:
    """The settings files that apply, highest priority first, as (where, parsed document)."""
    names = ["secrets.toml", "config.toml"] + (["sandbox.toml"] if environment() == "sandbox" else [])
    found = []
    for name in names:
        path = CONFIG_DIR / name
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
        found.append((f".dlt/{name}", _read(path, stamp)))
    return found


@functools.cache
def _read(path: Path, stamp: int) -> dict[str, Any]:
    """A settings file, parsed once per version of it (the stamp is the modification time)."""
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.relative_to(REPO_ROOT)} is not valid TOML: {exc}") from None


def _lookup(document: dict[str, Any], key: str) -> Any:
    node: Any = document
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _checked(key: str, value: Any, kind: type[T], where: str) -> T:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return cast(T, float(value))
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"`{key}` in {where} must be {_kind_name(kind)}, got {value!r}")


def _from_text(key: str, raw: str, kind: type[T]) -> T:
    text = raw.strip()
    problem = f"{env_name(key)}={raw!r} is not {_kind_name(kind)}"
    if kind is str:
        return cast(T, raw)
    if kind is bool:
        if text.lower() in _TRUE | _FALSE:
            return cast(T, text.lower() in _TRUE)
        raise ConfigError(problem)
    if kind is list:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list):
            return cast(T, value)
        raise ConfigError(problem + ' (a JSON list, e.g. ["a", "b"])')
    try:
        return cast(T, kind(text))  # int, float
    except ValueError:
        raise ConfigError(problem) from None


def _kind_name(kind: type) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}.get(
        kind, kind.__name__
    )
