"""The Copilot API as a FastAPI application (`create_app`), served by `python -m api serve`.
(No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations at run time.)

Every endpoint reads the serving snapshot in memory (api/serving.py) and asks api/access.py what the
caller may see; writes go to the application's own database with an audit row (api/store.py).
"""

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import models as m
from api.access import MASK, Directory, Forbidden, Principal, masked_email
from api.auth import KeySet, Unauthenticated, Verifier
from api.serving import LIVE, Snapshot, SnapshotHolder
from api.settings import ApiSettings, AuthSettings
from api.site import OidcClient, add_site
from api.store import AppStore
from core.clock import utc_now

log = logging.getLogger("copilot.api")
PROBLEM_JSON = "application/problem+json"


def _churn_risk_key(a: dict[str, Any]) -> tuple:
    """Descending: notice accounts (soonest end first), then by churn probability, then unscored."""
    notice = a.get("notice")
    if notice:
        ends = notice["contract_ends_on"] or date.max
        return (2, -ends.toordinal(), a["account_id"])
    p = a["churn_probability"]
    return (0 if p is None else 1, _num(p, -1.0), a["account_id"])


SORTS = {
    "name": (lambda a: (a["account_name"] or "", a["account_id"]), False),
    "arr": (lambda a: (a["arr"] or 0.0, a["account_id"]), True),
    "health": (lambda a: (_num(a["health_score"], math.inf), a["account_id"]), False),
    "churn_risk": (_churn_risk_key, True),
    "renewal": (lambda a: (a["next_renewal_date"] or date.max, a["account_id"]), False),
}
SortName = Literal["name", "arr", "health", "churn_risk", "renewal"]
SORT_DESCRIPTION = (
    "name; arr and churn_risk highest first; health lowest first; renewal soonest first. churn_risk puts the "
    "accounts that gave notice first (announced churn, soonest contract end first, never ranked by a "
    "probability), then the scored accounts by churn probability, then those not scored yet."
)
RiskTier = Literal["Low", "Medium", "High", "Notice given"]
Status = Literal["open", "sent", "acknowledged", "closed", "snoozed", "live"]


def _num(value: Any, default: float) -> float:
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, headers: dict[str, str] | None = None):
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem(request: Request, status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": request.url.path}
    body |= {k: v for k, v in extra.items() if k != "headers"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=extra.get("headers"))


NOT_FOUND = "Not Found"


class RateLimiter:
    """A token bucket per bearer token (per client address without one): `burst` requests at once,
    refilled at `per_minute`."""

    def __init__(self, per_minute: int, burst: int):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return (1 - tokens) / self.rate if self.rate > 0 else 60.0


class RateLimitMiddleware:
    """The per-token rate limit on the API's paths (/v1/, /auth/), as plain ASGI: it runs on every
    request, so it adds no task or thread of its own."""

    def __init__(self, app: Any, limiter: RateLimiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(("/v1/", "/auth/")):
            await self.app(scope, receive, send)
            return
        authorization = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        if authorization:
            key = hashlib.sha256(authorization).hexdigest()[:24]
        else:
            client = scope.get("client")
            key = f"addr:{client[0] if client else '-'}"
        wait = self.limiter.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = str(max(1, math.ceil(wait)))
        body = {"type": "about:blank", "title": "Too Many Requests", "status": 429,
                "detail": f"rate limit reached; retry in {retry} s", "instance": path}  # fmt: skip
        response = JSONResponse(body, status_code=429, media_type=PROBLEM_JSON, headers={"Retry-After": retry})
        await response(scope, receive, send)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    snapshot: Snapshot

    @property
    def as_of(self) -> m.AsOf:
        return m.AsOf(**self.snapshot.stamp)


def create_app(
    settings: ApiSettings,
    auth: AuthSettings,
    keys: KeySet | None = None,
    store: AppStore | None = None,
    oidc_http: httpx.Client | None = None,
) -> FastAPI:
    """The API; `keys` and `oidc_http` replace the issuer's JWKS and its HTTP client (tests)."""
    holder = SnapshotHolder(settings.serving_dir)
    holder.load_now()
    verifier = Verifier(auth, keys or KeySet(auth.jwks_url))
    directory = Directory(settings.access_file)
    store = store or AppStore(settings.database_url)
    limiter = RateLimiter(settings.rate_per_minute, settings.rate_burst)
    verified: dict[str, tuple[float, dict[str, Any]]] = {}

    app = FastAPI(
        title="Customer Success Copilot API",
        version="1",
        description="Accounts, scores, alerts and feedback of the Customer Success Copilot. Authenticate with an "
        "OAuth 2.0 bearer token (a JWT from the configured OIDC issuer). Every answer says as of which daily run "
        "it is. Errors are RFC 9457 problem details.",
        responses={
            401: {"model": m.Problem},
            404: {"model": m.Problem},
            422: {"model": m.Problem},
            429: {"model": m.Problem},
        },
    )
    app.state.holder, app.state.store, app.state.directory = holder, store, directory
    # Innermost of the middlewares: CORS and the rate limit apply to its answers too.
    app.add_middleware(
        HotReads,
        caller_of=lambda *a, **k: caller_of(*a, **k),
        account_body=lambda *a: account_body(*a),
        book_body=lambda *a: book_body(*a),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    app.add_middleware(RateLimitMiddleware, limiter=limiter)

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(request, exc.status, exc.title, exc.detail, headers=exc.headers or None)

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return problem(
            request, 401, "Unauthorized", str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return problem(request, 403, "Forbidden", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: NOT_FOUND, 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        return problem(request, exc.status_code, title, str(exc.detail) if exc.detail else None)

    @app.exception_handler(RequestValidationError)
    async def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())[1:]) or None,
                "in": (e.get("loc") or ["?"])[0],
                "reason": e.get("msg"),
            }
            for e in exc.errors()
        ]
        fields = ", ".join(str(e["field"]) for e in errors)
        return problem(request, 422, "Unprocessable Content", f"invalid parameters: {fields}", errors=errors)

    def caller_of(authorization: str | None, verify: bool = True) -> Caller:
        """The caller behind a bearer token. A token is verified once and its claims kept until it
        expires; with `verify=False` a token not verified before raises Unauthenticated (the fast path
        below then leaves the request to the full one, which verifies it)."""
        now = time.time()
        cached = verified.get(authorization or "")
        if cached and cached[0] > now:
            claims = cached[1]
        elif not verify:
            raise Unauthenticated("not verified yet")
        else:
            claims = verifier.claims(authorization)
            if len(verified) > 50_000:
                verified.clear()
            verified[authorization or ""] = (float(claims["exp"]), claims)
        snapshot = holder.current()
        if snapshot is None:
            raise ApiProblem(
                503,
                "Service Unavailable",
                "no serving snapshot published yet: run the daily job",
                {"Retry-After": "60"},
            )
        principal = directory.principal(verifier.email(claims), snapshot.users, snapshot.file)
        return Caller(principal, snapshot)

    async def caller(request: Request) -> Caller:
        return caller_of(request.headers.get("authorization"))

    Auth = Annotated[Caller, Depends(caller)]
    pages = PageCache(store)

    # ---- helpers over one snapshot, always through the caller's scope ----

    def account_or_404(c: Caller, account_id: str) -> dict[str, Any]:
        account = c.snapshot.accounts.get(account_id)
        if not c.principal.sees_account(account):
            raise ApiProblem(404, NOT_FOUND, f"no account {account_id}")
        return account

    def effective_alerts(c: Caller, rows: list[dict[str, Any]]) -> list[m.Alert]:
        """The snapshot's alerts with what was recorded in the Copilot since the run that published it."""
        if not rows:
            return []
        by_alert = store.feedback_by_alert()
        return [alert_view(c, row, by_alert.get(row["alert_id"], [])) for row in rows]

    def alert_view(c: Caller, row: dict[str, Any], feedback: list[dict[str, Any]]) -> m.Alert:
        status, outcome, note, snoozed = row["status"], row.get("outcome"), None, None
        seen_at = row.get("updated_at")
        for fb in feedback:
            note = fb["note"] or note
            if seen_at is not None and fb["recorded_at"] <= seen_at:
                snoozed = fb["snoozed_until"] if fb["action"] == "snooze" else None
                continue
            if fb["action"] == "outcome":
                status, outcome, snoozed = "closed", fb["outcome"], None
            elif status != "closed":
                status = "acknowledged"
                snoozed = fb["snoozed_until"] if fb["action"] == "snooze" else None
        if snoozed is not None and (snoozed <= utc_now().date() or status == "closed"):
            snoozed = None
        account = c.snapshot.accounts.get(row["account_id"]) or {}
        return m.Alert(
            alert_id=row["alert_id"],
            account_id=row["account_id"],
            account_name=account.get("account_name"),
            rule_id=row["rule_id"],
            severity=row["severity"],
            status=status,
            snoozed_until=snoozed,
            opened_on=row["opened_on"],
            last_fired_on=row["last_fired_on"],
            message=row["message"],
            owner_user_id=row.get("owner_user_id"),
            owner_name=row.get("owner_name"),
            outcome=outcome,
            note=note,
        )

    def live_alert_count(c: Caller, account_id: str) -> int:
        return sum(1 for a in c.snapshot.alerts_by_account.get(account_id, ()) if a["status"] in LIVE)

    def summary_of(c: Caller, a: dict[str, Any]) -> m.AccountSummary:
        return m.AccountSummary(
            account_id=a["account_id"],
            account_name=a["account_name"],
            segment=a["segment"],
            csm_user_id=a["csm_user_id"],
            csm_name=a["csm_name"],
            arr=a["arr"],
            health_score=a["health_score"],
            health_tier=a["health_tier"],
            health_trend=a["health_trend"],
            churn_probability=a["churn_probability"],
            churn_risk_tier=a["churn_risk_tier"],
            notice=a.get("notice"),
            expansion_propensity=a["expansion_propensity"],
            next_renewal_date=a["next_renewal_date"],
            days_to_renewal=a["days_to_renewal"],
            renewal_risk=a["renewal_risk"],
            live_alerts=live_alert_count(c, a["account_id"]),
        )

    def portfolio_of(c: Caller, accounts: list[dict[str, Any]]) -> m.PortfolioSummary:
        tiers: dict[str, int] = {}
        risks: dict[str, int] = {}
        for a in accounts:
            tiers[a["health_tier"] or "unscored"] = tiers.get(a["health_tier"] or "unscored", 0) + 1
            risks[a["churn_risk_tier"] or "unscored"] = risks.get(a["churn_risk_tier"] or "unscored", 0) + 1
        return m.PortfolioSummary(
            accounts=len(accounts),
            arr=round(sum(a["arr"] or 0.0 for a in accounts), 2),
            by_health_tier=tiers,
            by_churn_risk=risks,
            arr_at_risk=round(sum(a["arr"] or 0.0 for a in accounts if a["churn_risk_tier"] == "High"), 2),
            arr_notice_given=round(sum(a["arr"] or 0.0 for a in accounts if a.get("notice")), 2),
            renewals_next_90d=sum(
                1 for a in accounts if a["days_to_renewal"] is not None and 0 <= a["days_to_renewal"] <= 90
            ),
            live_alerts=sum(live_alert_count(c, a["account_id"]) for a in accounts),
        )

    def meaning(c: Caller, account: dict[str, Any]) -> str | None:
        notice = account.get("notice")
        if notice:
            ends = notice["contract_ends_on"]
            return (
                "The customer gave notice: its churn is announced, not predicted, so no churn probability is "
                f"given. The play is to save it{f' before the contract ends on {ends}' if ends else ''}."
            )
        p = account.get("churn_probability")
        if p is None:
            return None
        model = c.snapshot.models.get("churn") or {}
        horizon = 90
        with contextlib.suppress(ValueError, AttributeError):
            horizon = int(json.loads(model.get("params") or "{}").get("horizon_days", 90))
        ece = (model.get("details") or {}).get("xgboost", {}).get("ece")
        share = "fewer than 1" if p < 0.005 else "nearly all 100" if p > 0.995 else f"about {p * 100:.0f}"
        text = (
            f"Of 100 accounts given this score, {share} churn within {horizon} days "
            "(the score is calibrated on held-out history"
        )
        text += f"; typical calibration error {ece * 100:.1f} points)." if ece is not None else ")."
        return text

    # ---- endpoints ----

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        snapshot = holder.current()
        return {
            "status": "ok" if snapshot else "no snapshot",
            "as_of_date": str(snapshot.as_of_date) if snapshot else None,
        }

    @app.get("/v1/me", response_model=m.Me, tags=["me"])
    async def me(c: Auth) -> Response:
        p = c.principal
        scope = "whole portfolio" if p.team is None else f"accounts of {len(p.team)} CRM user(s)"
        return as_json(m.Me(as_of=c.as_of, email=p.email, role=p.role, user_id=p.user_id, name=p.name, scope=scope))

    @app.get("/v1/accounts", response_model=m.AccountPage, tags=["accounts"])
    async def list_accounts(
        c: Auth,
        tier: Annotated[Literal["Green", "Yellow", "Red"] | None, Query(description="Health tier.")] = None,
        owner: Annotated[str | None, Query(description="The CSM's CRM user id.", max_length=64)] = None,
        segment: Annotated[str | None, Query(max_length=64)] = None,
        renewal_within_days: Annotated[int | None, Query(ge=0, le=730)] = None,
        risk: Annotated[
            RiskTier | None,
            Query(description="Churn risk tier; 'Notice given' lists the accounts that gave notice (announced churn)."),
        ] = None,
        sort: Annotated[SortName, Query(description=SORT_DESCRIPTION)] = "name",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        offset = decode_cursor(cursor, sort)
        p = c.principal
        key, reverse = SORTS[sort]
        rows = [
            a
            for a in c.snapshot.accounts_in_order
            if p.sees_account(a)
            and (tier is None or a["health_tier"] == tier)
            and (owner is None or a["csm_user_id"] == owner)
            and (segment is None or a["segment"] == segment)
            and (risk is None or a["churn_risk_tier"] == risk)
            and (
                renewal_within_days is None
                or (a["days_to_renewal"] is not None and 0 <= a["days_to_renewal"] <= renewal_within_days)
            )
        ]
        if sort != "name":
            rows = sorted(rows, key=key, reverse=reverse)
        page = rows[offset : offset + limit]
        nxt = encode_cursor(offset + limit, sort) if offset + limit < len(rows) else None
        return as_json(
            m.AccountPage(as_of=c.as_of, items=[summary_of(c, a) for a in page], total=len(rows), next_cursor=nxt)
        )

    @app.get("/v1/accounts/{account_id}", response_model=m.AccountDetail, tags=["accounts"])
    async def get_account(c: Auth, account_id: str) -> Response:
        return Response(account_body(c, account_id), media_type="application/json")

    def account_body(c: Caller, account_id: str) -> bytes:
        a = account_or_404(c, account_id)
        mask = c.principal.masks_personal_data
        return pages.get(("account", account_id, mask), c, lambda: account_page(c, a, account_id, mask))

    def account_page(c: Caller, a: dict[str, Any], account_id: str, mask: bool) -> bytes:
        alerts = effective_alerts(c, c.snapshot.alerts_by_account.get(account_id, []))
        account = m.Account360.model_validate(a)
        if mask:
            account.champion_name = MASK if account.champion_name else None
            account.champion_email = masked_email(account.champion_email)
        components = [
            m.HealthComponent(component=name, score=a.get(f"{name}_score"), reason=a.get(f"{name}_reason"))
            for name in ("usage", "adoption", "support", "billing", "relationship")
        ]
        contacts = [
            m.Contact(
                contact_id=ct["contact_id"],
                name=MASK if mask else " ".join(x for x in (ct["first_name"], ct["last_name"]) if x) or None,
                email=masked_email(ct["email"]) if mask else ct["email"],
                title=ct["title"],
                is_champion=ct["is_champion"],
                has_left_company=ct["has_left_company"],
            )
            for ct in c.snapshot.contacts.get(account_id, [])
        ]
        return to_json(
            m.AccountDetail(
                as_of=c.as_of,
                account=account,
                health=m.Health(
                    score=a["health_score"],
                    tier=a["health_tier"],
                    trend=a["health_trend"],
                    change_30d=a["health_score_change_30d"],
                    score_30d_ago=a.get("health_score_30d_ago"),
                    top_risk_drivers=a["top_risk_drivers"],
                    components=components,
                    weekly_trend=[
                        m.HealthPoint(day=t["day"], health_score=t["health_score"], health_tier=t["health_tier"])
                        for t in c.snapshot.trend.get(account_id, [])
                    ],
                ),
                churn=m.ChurnRisk(
                    probability=a["churn_probability"],
                    tier=a["churn_risk_tier"],
                    notice=a.get("notice"),
                    meaning=meaning(c, a),
                    reasons=[
                        *([a["notice"]["sentence"]] if a.get("notice") else []),
                        *(d["sentence"] for d in a["drivers"] if d.get("sentence")),
                    ][:5],
                    model_id=a["churn_model_id"],
                    scored_on=a["scored_on"],
                ),
                expansion=m.Expansion(
                    signal_score=a["expansion_score"],
                    signal_reason=a["expansion_reason"],
                    propensity=a["expansion_propensity"],
                    model_id=a["expansion_model_id"],
                ),
                renewal=m.Renewal(
                    next_renewal_date=a["next_renewal_date"],
                    days_to_renewal=a["days_to_renewal"],
                    contract_end_date=a["contract_end_date"],
                    stage=a["renewal_stage"],
                    amount=a["renewal_amount"],
                    arr_at_stake=a["arr_at_stake"],
                    risk=a["renewal_risk"],
                    arr_at_risk=a["arr_at_risk"],
                    notice_given=a["notice_given"],
                ),
                live_alerts=[x for x in alerts if x.status in LIVE],
                contacts=contacts,
                history=m.History(
                    monthly_health=[
                        m.HealthPoint(day=t["day"], health_score=t["health_score"], health_tier=t["health_tier"])
                        for t in c.snapshot.history.get(account_id, [])
                    ],
                    closed_alerts=[x for x in alerts if x.status == "closed"],
                ),
            )
        )

    @app.get("/v1/alerts", response_model=m.AlertList, tags=["alerts"])
    async def list_alerts(
        c: Auth,
        scope: Annotated[
            Literal["mine", "team", "all"],
            Query(description="mine: alerts you own; team and all: every alert within your scope"),
        ] = "mine",
        status: Annotated[Status | None, Query(description="live = open, sent or acknowledged, not snoozed")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> Response:
        p = c.principal
        rows = [
            r
            for r in c.snapshot.alerts.values()
            if p.sees_account(c.snapshot.accounts.get(r["account_id"]))
            and (scope != "mine" or (p.user_id is not None and r.get("owner_user_id") == p.user_id))
        ]
        items = effective_alerts(c, rows)
        if status == "live":
            items = [a for a in items if a.status in LIVE and a.snoozed_until is None]
        elif status == "snoozed":
            items = [a for a in items if a.snoozed_until is not None]
        elif status is not None:
            items = [a for a in items if a.status == status]
        return as_json(m.AlertList(as_of=c.as_of, items=items[:limit]))

    @app.get("/v1/csms/{user_id}/book", response_model=m.Book, tags=["accounts"])
    async def book(c: Auth, user_id: str) -> Response:
        return Response(book_body(c, user_id), media_type="application/json")

    def book_body(c: Caller, user_id: str) -> bytes:
        if not c.principal.sees_owner(user_id) or user_id not in c.snapshot.users:
            raise ApiProblem(404, NOT_FOUND, f"no CSM {user_id}")
        return pages.get(("book", user_id), c, lambda: book_page(c, user_id))

    def book_page(c: Caller, user_id: str) -> bytes:
        accounts = [a for a in c.snapshot.accounts_in_order if a["csm_user_id"] == user_id]
        accounts.sort(key=SORTS["churn_risk"][0], reverse=True)
        return to_json(
            m.Book(
                as_of=c.as_of,
                csm_user_id=user_id,
                csm_name=c.snapshot.users[user_id].get("user_name"),
                summary=portfolio_of(c, accounts),
                accounts=[summary_of(c, a) for a in accounts],
            )
        )

    @app.get("/v1/portfolio/summary", response_model=m.Portfolio, tags=["accounts"])
    async def portfolio(c: Auth) -> Response:
        accounts = [a for a in c.snapshot.accounts_in_order if c.principal.sees_account(a)]
        scope = "whole portfolio" if c.principal.sees_whole_portfolio else f"{c.principal.role} scope"
        return as_json(m.Portfolio(as_of=c.as_of, scope=scope, summary=portfolio_of(c, accounts)))

    @app.get("/v1/models/{kind}", response_model=m.ModelCard, tags=["models"])
    async def model_card(c: Auth, kind: Literal["churn", "expansion"]) -> Response:
        model = c.snapshot.models.get(kind)
        if model is None:
            raise ApiProblem(404, NOT_FOUND, f"no champion {kind} model yet")
        details = model["details"]
        return as_json(
            m.ModelCard(
                as_of=c.as_of,
                model_id=model["model_id"],
                kind=kind,
                status=model.get("status"),
                decision=model.get("decision"),
                trained_at=model.get("trained_at"),
                train_window=[model.get("train_start"), model.get("train_end")],
                validation_window=[model.get("valid_start"), model.get("valid_end")],
                test_window=[model.get("test_start"), model.get("test_end")],
                rows={k: int(v) for k, v in details.get("rows", {}).items()},
                positives={k: int(v) for k, v in details.get("positives", {}).items()},
                features=model["feature_list"],
                metrics=[
                    m.Metric(scorer=r["scorer"], metric=r["metric"], value=r["value"]) for r in model["metric_rows"]
                ],
                calibration=[
                    m.CalibrationBin(
                        mean_predicted=r["mean_predicted"], observed_rate=r["observed_rate"], rows=int(r["rows"])
                    )
                    for r in c.snapshot.calibration.get(model["model_id"], [])
                ],
                drift=[
                    m.Drift(feature=d["feature"], psi=d["psi"], drift_level=d["drift_level"])
                    for d in model["drift_rows"]
                ],
                drift_computed_on=model["drift_rows"][0]["computed_on"] if model["drift_rows"] else None,
            )
        )

    def alert_or_404(c: Caller, alert_id: str) -> dict[str, Any]:
        row = c.snapshot.alerts.get(alert_id)
        if row is None or not c.principal.sees_account(c.snapshot.accounts.get(row["account_id"])):
            raise ApiProblem(404, NOT_FOUND, f"no alert {alert_id}")
        c.principal.require_writer()
        return row

    def write(c: Caller, alert_id: str, action: str, note: str | None, **fields: Any) -> m.AlertChange:
        row = alert_or_404(c, alert_id)
        before = effective_alerts(c, [row])[0]
        if before.status == "closed" and action != "outcome":
            raise ApiProblem(409, "Conflict", f"alert {alert_id} is closed")
        pending = {
            "action": action,
            "note": note,
            "outcome": fields.get("outcome"),
            "snoozed_until": fields.get("snoozed_until"),
            "recorded_at": utc_now(),
        }
        after = alert_view(c, row, [*store.feedback_for(alert_ids=[alert_id]), pending])
        recorded = store.record(
            alert=row,
            action=action,
            actor_email=c.principal.email,
            actor_user_id=c.principal.user_id,
            role=c.principal.role,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
            note=note,
            **fields,
        )
        log.info("alert %s: %s by %s", alert_id, action, c.principal.role)
        return m.AlertChange(as_of=c.as_of, alert=after, recorded_at=recorded["recorded_at"])

    @app.post("/v1/alerts/{alert_id}/acknowledge", response_model=m.AlertChange, tags=["alerts"])
    def acknowledge(c: Auth, alert_id: str, body: m.AcknowledgeIn | None = None) -> m.AlertChange:
        return write(c, alert_id, "acknowledge", body.note if body else None)

    @app.post("/v1/alerts/{alert_id}/snooze", response_model=m.AlertChange, tags=["alerts"])
    def snooze(c: Auth, alert_id: str, body: m.SnoozeIn) -> m.AlertChange:
        until = utc_now().date() + timedelta(days=body.days)
        return write(c, alert_id, "snooze", body.note, snoozed_until=until)

    @app.post("/v1/alerts/{alert_id}/outcome", response_model=m.AlertChange, tags=["alerts"])
    def outcome(c: Auth, alert_id: str, body: m.OutcomeIn) -> m.AlertChange:
        return write(c, alert_id, "outcome", body.note, outcome=body.outcome)

    @app.get("/v1/audit", response_model=m.AuditLog, tags=["admin"])
    def audit(c: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> m.AuditLog:
        c.principal.require_admin()
        return m.AuditLog(items=[m.AuditEntry(**row) for row in store.audit(limit)])

    @app.get("/v1/{path:path}", include_in_schema=False)
    def unknown(path: str) -> None:
        raise ApiProblem(404, NOT_FOUND, f"no endpoint /v1/{path}")

    site_verifier = Verifier(replace(auth, audience=auth.client_id), verifier.keys)
    oidc = OidcClient(auth.issuer, auth.client_id, auth.client_secret, oidc_http)
    add_site(app, settings.reports_dir, site_verifier, oidc, holder, directory)
    return app


class PageCache:
    """Answers that depend only on the snapshot and the feedback recorded so far (an account page,
    a book), kept as JSON until either changes. The caller's scope is checked before, every time."""

    def __init__(self, store: AppStore, limit: int = 20_000):
        self.store = store
        self.limit = limit
        self._pages: dict[tuple, bytes] = {}

    def get(self, key: tuple, c: Caller, render: Callable[[], bytes]) -> bytes:
        full = (*key, c.snapshot.file, self.store.feedback_version())
        body = self._pages.get(full)
        if body is None:
            if len(self._pages) >= self.limit:
                self._pages.clear()
            body = self._pages[full] = render()
        return body


class HotReads:
    """The two reads a CSM makes most (an account page, a book) answered without FastAPI's routing and
    dependency machinery: the same functions as the endpoints (`account_body`, `book_body`: the same
    scope check, the same cached JSON), for a token verified before. Anything else (a first request
    with a token, an error, another path) goes on to the full application, which answers it; the
    OpenAPI document describes both."""

    def __init__(self, app: Any, caller_of: Callable, account_body: Callable, book_body: Callable):
        self.app = app
        self.caller_of = caller_of
        self.account_body = account_body
        self.book_body = book_body

    def _body(self, scope: dict) -> bytes | None:
        parts = scope["path"].split("/")
        if len(parts) == 4 and parts[1] == "v1" and parts[2] == "accounts" and parts[3]:
            answer, key = self.account_body, parts[3]
        elif len(parts) == 5 and parts[1] == "v1" and parts[2] == "csms" and parts[3] and parts[4] == "book":
            answer, key = self.book_body, parts[3]
        else:
            return None
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if authorization is None:
            return None
        try:
            return answer(self.caller_of(authorization.decode("latin-1"), verify=False), key)
        except (ApiProblem, Unauthenticated, Forbidden):
            return None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        body = self._body(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def to_json(model: Any) -> bytes:
    return model.model_dump_json().encode()


def as_json(model: Any) -> Response:
    """A response model as JSON, serialized once (FastAPI would otherwise validate the model again
    against `response_model`, which stays for the OpenAPI document)."""
    return Response(model.model_dump_json(), media_type="application/json")


def encode_cursor(offset: int, sort: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": sort}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> int:
    if not cursor:
        return 0
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(doc["o"])
        if doc.get("s") != sort or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "cursor"),
                    "msg": "not a cursor of this listing (same sort) from next_cursor",
                    "type": "value_error",
                }
            ]
        ) from None
    return offset


def default_app() -> FastAPI:
    """The app from the configured settings (uvicorn's factory)."""
    from api.settings import api_settings, auth_settings

    return create_app(api_settings(), auth_settings())
