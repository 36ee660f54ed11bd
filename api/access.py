"""Who may see and do what: the one place the API decides it.

Roles:

- `admin`: everything, the audit log included;
- `cs_ops`: the whole portfolio, reads and writes;
- `manager`: the accounts of their team: the CSMs who report to them in the CRM (directly or
  further down), themselves, and anyone the access file adds to their team;
- `csm`: the accounts they own (the account's CSM in the CRM);
- `analyst`: the whole portfolio, read-only, with contacts' personal data masked.

Where a role comes from: the access file (`api.access_file`, TOML an admin edits) names people with
a role by e-mail; anyone else found in the CRM's users is a `manager` when someone reports to them,
otherwise a `csm`. Someone in neither gets no access (403).

    [users]
    "ops.lead@example.com" = "cs_ops"
    "data.team@example.com" = "analyst"

    [teams]   # more members of a manager's team, beyond the CRM's reporting lines
    "jane.manager@example.com" = ["someone@example.com"]

Every endpoint asks this module, never decides itself: an account outside the caller's scope is
reported as not found (404), the same answer as an account that does not exist.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("admin", "cs_ops", "manager", "csm", "analyst")
WHOLE_PORTFOLIO = ("admin", "cs_ops", "analyst")
WRITERS = ("admin", "cs_ops", "manager", "csm")
MASK = "•••"


class Forbidden(Exception):
    """The caller is known but may not do this (no role, or a read-only role writing)."""


@dataclass(frozen=True)
class Principal:
    email: str
    role: str
    user_id: str | None  # the CRM user, when the caller is one
    name: str | None
    team: frozenset[str] | None  # CRM user ids whose accounts are in scope; None: the whole portfolio

    def sees_owner(self, owner_user_id: str | None) -> bool:
        return self.team is None or (owner_user_id is not None and owner_user_id in self.team)

    def sees_account(self, account: dict[str, Any] | None) -> bool:
        return account is not None and self.sees_owner(account.get("csm_user_id"))

    @property
    def may_write(self) -> bool:
        return self.role in WRITERS

    @property
    def masks_personal_data(self) -> bool:
        return self.role == "analyst"

    @property
    def sees_whole_portfolio(self) -> bool:
        return self.team is None

    def require_writer(self) -> None:
        if not self.may_write:
            raise Forbidden(f"the {self.role} role is read-only")

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("only an admin may read this")


@dataclass(frozen=True)
class AccessFile:
    users: dict[str, str]
    teams: dict[str, tuple[str, ...]]

    @classmethod
    def read(cls, path: Path) -> AccessFile:
        try:
            document = tomllib.loads(path.read_text())
        except FileNotFoundError:
            return cls({}, {})
        users = {str(k).strip().lower(): str(v).strip() for k, v in document.get("users", {}).items()}
        wrong = sorted(f"{email} = {role!r}" for email, role in users.items() if role not in ROLES)
        if wrong:
            raise ValueError(f"{path}: unknown role in [users]: {', '.join(wrong)} (roles: {', '.join(ROLES)})")
        teams = {
            str(k).strip().lower(): tuple(str(m).strip().lower() for m in v)
            for k, v in document.get("teams", {}).items()
        }
        return cls(users, teams)


class Directory:
    """Principals from the CRM's users (in the serving snapshot) and the access file."""

    def __init__(self, access_file: Path):
        self.access_file = Path(access_file)
        self._cache: dict[tuple[str, str, float], Principal | None] = {}
        self._access: tuple[float, AccessFile] | None = None

    def _read_access(self) -> tuple[float, AccessFile]:
        try:
            stamp = self.access_file.stat().st_mtime
        except FileNotFoundError:
            stamp = 0.0
        if self._access is None or self._access[0] != stamp:
            self._access = (stamp, AccessFile.read(self.access_file))
            self._cache.clear()
        return self._access

    def principal(self, email: str, users: dict[str, dict[str, Any]], snapshot_key: str) -> Principal:
        stamp, access = self._read_access()
        key = (email, snapshot_key, stamp)
        if key not in self._cache:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = resolve(email, users, access)
        found = self._cache[key]
        if found is None:
            raise Forbidden("no role: ask an admin to add you to the access file")
        return found


def resolve(email: str, users: dict[str, dict[str, Any]], access: AccessFile) -> Principal | None:
    email = email.lower()
    by_email = {str(u.get("email") or "").lower(): u for u in users.values() if u.get("is_active") is not False}
    crm_user = by_email.get(email)
    user_id = crm_user["user_id"] if crm_user else None
    name = crm_user.get("user_name") if crm_user else None
    reports: dict[str, list[str]] = {}
    for u in users.values():
        if u.get("manager_user_id"):
            reports.setdefault(u["manager_user_id"], []).append(u["user_id"])
    role = access.users.get(email)
    if role is None and crm_user is None:
        return None
    if role is None:
        role = "manager" if reports.get(user_id) or email in access.teams else "csm"
    if role in WHOLE_PORTFOLIO:
        return Principal(email, role, user_id, name, None)
    team: set[str] = set()
    if user_id:
        team.add(user_id)
    if role == "manager":
        stack = list(reports.get(user_id, [])) if user_id else []
        stack += [by_email[m]["user_id"] for m in access.teams.get(email, ()) if m in by_email]
        while stack:
            member = stack.pop()
            if member not in team:
                team.add(member)
                stack.extend(reports.get(member, []))
    return Principal(email, role, user_id, name, frozenset(team))


def masked_email(email: str | None) -> str | None:
    if not email:
        return email
    _, _, domain = email.partition("@")
    return f"{MASK}@{domain}" if domain else MASK
