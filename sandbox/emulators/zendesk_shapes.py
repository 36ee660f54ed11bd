"""Zendesk records as the published API returns them, and its incremental-export rate limit.

The world stores the fields the simulation needs; a real ticket has about forty. The documented
read fields of each object are data (`api_facts/zendesk.json`, with where they come from); this
module fills every stored record up to that set, with values derived from the record where Zendesk
has them (`url`, `raw_subject`, `generated_timestamp`, ...) and the documented empty value elsewhere.

Incremental exports are limited to `export_requests_per_minute` (10) a minute per account, over a
sliding minute; past it they answer 429 with `Retry-After` (the seconds until a slot frees).
`SANDBOX_ZENDESK_EXPORTS_PER_MINUTE` overrides the limit (0 turns it off).
"""

from __future__ import annotations

import collections
import functools
import math
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from sandbox.emulators.credentials import ZENDESK

FACTS_FILE = Path(__file__).with_name("api_facts") / "zendesk.json"
BRAND_ID = 360000000001
TICKET_FORM_ID = 360000000011


@functools.cache
def facts() -> dict[str, Any]:
    return orjson.loads(FACTS_FILE.read_bytes())


def fields(name: str) -> dict[str, dict[str, Any]]:
    return facts()["objects"][name]


def _parse(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value)) if isinstance(value, orjson.Fragment) else value


def _unix(text: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _empty(ftype: str, nullable: bool) -> Any:
    if nullable:
        return None
    return {"integer": 0, "boolean": False, "array": [], "object": {}}.get(ftype)


def _derived(name: str, rec: dict[str, Any]) -> dict[str, Any]:
    # A record's `url` names the account's own host, however the client reached the API.
    url = f"https://{ZENDESK['subdomain']}.zendesk.com/api/v2/{name}/{rec.get('id')}.json"
    if name == "tickets":
        return {
            "url": url,
            "raw_subject": rec.get("subject"),
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "allow_attachments": True,
            "allow_channelback": False,
            "brand_id": BRAND_ID,
            "ticket_form_id": TICKET_FORM_ID,
            "is_public": True,
            "generated_timestamp": _unix(rec.get("updated_at")),
        }
    if name == "users":
        return {
            "url": url,
            "locale": "en-US",
            "locale_id": 1,
            "time_zone": "Eastern Time (US & Canada)",
            "iana_time_zone": "America/New_York",
            "verified": True,
            "role_type": None,
            "ticket_restriction": "requested" if rec.get("role") == "end-user" else None,
        }
    if name == "ticket_metrics":
        return {
            "url": url,
            "assignee_stations": 1,
            "group_stations": 1,
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
            "agent_wait_time_in_minutes": {"calendar": None, "business": None},
            "requester_wait_time_in_minutes": {"calendar": None, "business": None},
            "first_resolution_time_in_minutes": {"calendar": None, "business": None},
            "reply_time_in_seconds": {"calendar": None},
        }
    if name == "satisfaction_ratings":
        bad = rec.get("score") == "bad"
        return {
            "url": url,
            "reason": "No reason provided" if bad else None,
            "reason_code": 0 if bad else None,
        }
    return {"url": url}


def render(name: str, rec: dict[str, Any]) -> dict[str, Any]:
    """A stored record with every documented field of its object."""
    given = {**_derived(name, rec), **{k: _parse(v) for k, v in rec.items()}}
    out = {f: given[f] if f in given else _empty(s["type"], s["nullable"]) for f, s in fields(name).items()}
    for key in set(rec) - set(out):  # a field a fault added stays
        out[key] = rec[key]
    return out


class ExportLimit:
    """Incremental export requests in the last minute, for this server process (one account)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: collections.deque[float] = collections.deque()

    @staticmethod
    def per_minute() -> int:
        value = os.environ.get("SANDBOX_ZENDESK_EXPORTS_PER_MINUTE")
        return int(value) if value not in (None, "") else int(facts()["export_requests_per_minute"])

    def take(self) -> int | None:
        """None when the request may go ahead, else the seconds to wait (Retry-After)."""
        limit = self.per_minute()
        if limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            while self._times and now - self._times[0] >= 60:
                self._times.popleft()
            if len(self._times) >= limit:
                return max(1, math.ceil(60 - (now - self._times[0])))
            self._times.append(now)
            return None


export_limit = ExportLimit()
