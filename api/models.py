"""The API's request and response shapes (Pydantic): what the OpenAPI document describes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["Confirmed risk", "False alarm", "Already known"]


class AsOf(BaseModel):
    """Which daily run the answer comes from."""

    as_of_date: date = Field(description="The data's as-of date of the run that published the serving snapshot.")
    published_at: datetime = Field(description="When that run published it (UTC).")
    run_id: str | None = Field(None, description="The daily run's id, when published by the orchestration.")


class Problem(BaseModel):
    """An error as RFC 9457 problem details (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict] | None = Field(None, description="For 422: each wrong parameter, with its location and reason.")


class Me(BaseModel):
    as_of: AsOf
    email: str
    role: str
    user_id: str | None
    name: str | None
    scope: str = Field(description="whole portfolio, or how many CRM users' accounts are in scope")


class Notice(BaseModel):
    """An account that gave notice: its churn is announced, not predicted; the play is to save it."""

    given_on: date | None = Field(description="The day the customer gave notice (first day of the standing notice).")
    contract_ends_on: date | None = Field(description="The day the contract or billing period ends: churn day.")
    sentence: str = Field(
        description="The notice in words, as the CRM's risk drivers start: 'Notice given on <date>, contract "
        "ends <date>: save play (announced churn, no churn risk)'."
    )


# The churn fields the account list and the account page share: one description each.
CHURN_PROBABILITY_FIELD = Field(
    description="Calibrated probability of churning within the churn model's horizon. Null for an account "
    "that gave notice (its churn is announced, not predicted: see `notice`) and for one not scored yet."
)
CHURN_RISK_TIER_FIELD = Field(
    description="Low, Medium or High (multiples of the company's churn base rate); 'Notice given' for an "
    "account that gave notice (no probability: see `notice`); null when not scored yet."
)
NOTICE_FIELD = Field(
    None,
    description="The announced churn of an account that gave notice (cancellation at the end of its "
    "contract or billing period): the save play's facts. Null for every other account.",
)


class AccountSummary(BaseModel):
    account_id: str
    account_name: str | None
    segment: str | None
    csm_user_id: str | None
    csm_name: str | None
    arr: float | None
    health_score: float | None
    health_tier: str | None
    health_trend: str | None
    churn_probability: float | None = CHURN_PROBABILITY_FIELD
    churn_risk_tier: str | None = CHURN_RISK_TIER_FIELD
    notice: Notice | None = NOTICE_FIELD
    expansion_propensity: float | None
    next_renewal_date: date | None
    days_to_renewal: int | None
    renewal_risk: str | None
    live_alerts: int


class AccountPage(BaseModel):
    as_of: AsOf
    items: list[AccountSummary]
    total: int = Field(description="Accounts matching the filters within the caller's scope.")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page.")


class HealthComponent(BaseModel):
    component: str
    score: float | None
    reason: str | None


class HealthPoint(BaseModel):
    day: date
    health_score: float | None
    health_tier: str | None


class Health(BaseModel):
    score: float | None
    tier: str | None
    trend: str | None
    change_30d: float | None
    score_30d_ago: float | None
    top_risk_drivers: str | None
    components: list[HealthComponent]
    weekly_trend: list[HealthPoint] = Field(description="One point a week over the last 26 weeks.")


class ChurnRisk(BaseModel):
    probability: float | None = CHURN_PROBABILITY_FIELD
    tier: str | None = CHURN_RISK_TIER_FIELD
    notice: Notice | None = NOTICE_FIELD
    meaning: str | None = Field(
        description="What the probability means, in words; for an account that gave notice, that its churn is "
        "announced (no prediction) and the save play."
    )
    reasons: list[str] = Field(
        description="The strongest drivers of this account's score, in words; for an account that gave notice "
        "the first is the notice (`notice.sentence`), then the behaviour behind it."
    )
    model_id: str | None
    scored_on: date | None


class Expansion(BaseModel):
    signal_score: float | None
    signal_reason: str | None
    propensity: float | None
    model_id: str | None


class Renewal(BaseModel):
    next_renewal_date: date | None
    days_to_renewal: int | None
    contract_end_date: date | None
    stage: str | None
    amount: float | None
    arr_at_stake: float | None
    risk: str | None
    arr_at_risk: float | None
    notice_given: bool | None


class Contact(BaseModel):
    contact_id: str
    name: str | None
    email: str | None
    title: str | None
    is_champion: bool | None
    has_left_company: bool | None


class Alert(BaseModel):
    alert_id: str
    account_id: str
    account_name: str | None
    rule_id: str
    severity: str
    status: str = Field(description="open, sent, acknowledged or closed")
    snoozed_until: date | None
    opened_on: date
    last_fired_on: date
    message: str
    owner_user_id: str | None
    owner_name: str | None
    outcome: str | None
    note: str | None = Field(None, description="The latest note recorded on the alert in the Copilot.")


class History(BaseModel):
    monthly_health: list[HealthPoint]
    closed_alerts: list[Alert]


class Account360(BaseModel):
    model_config = ConfigDict(extra="ignore")
    account_id: str
    account_name: str | None
    segment: str | None
    industry: str | None
    employee_count: int | None
    billing_country: str | None
    website_domain: str | None
    csm_user_id: str | None
    csm_name: str | None
    account_owner_name: str | None
    plan: str | None
    billing_interval: str | None
    subscription_status: str | None
    seats: int | None
    active_users_7d: int | None
    active_users_30d: int | None
    seat_utilisation: float | None
    arr: float | None
    arr_change_90d: float | None
    customer_since_date: date | None
    open_tickets: int | None
    tickets_90d: int | None
    csat_score_180d: float | None
    payment_failures_90d: int | None
    overdue_invoices: int | None
    champion_name: str | None
    champion_email: str | None
    champion_status: str | None


class AccountDetail(BaseModel):
    as_of: AsOf
    account: Account360
    health: Health
    churn: ChurnRisk
    expansion: Expansion
    renewal: Renewal
    live_alerts: list[Alert]
    contacts: list[Contact]
    history: History


class AlertList(BaseModel):
    as_of: AsOf
    items: list[Alert]


class PortfolioSummary(BaseModel):
    accounts: int
    arr: float
    by_health_tier: dict[str, int]
    by_churn_risk: dict[str, int] = Field(
        description="Accounts per churn risk tier: Low, Medium, High, 'Notice given' (announced churn) or unscored."
    )
    arr_at_risk: float = Field(description="ARR of accounts whose churn risk tier is High (a prediction).")
    arr_notice_given: float = Field(0.0, description="ARR of accounts that gave notice (announced churn).")
    renewals_next_90d: int
    live_alerts: int


class Portfolio(BaseModel):
    as_of: AsOf
    scope: str
    summary: PortfolioSummary


class Book(BaseModel):
    as_of: AsOf
    csm_user_id: str
    csm_name: str | None
    summary: PortfolioSummary
    accounts: list[AccountSummary]


class Metric(BaseModel):
    scorer: str
    metric: str
    value: float | None


class CalibrationBin(BaseModel):
    mean_predicted: float
    observed_rate: float
    rows: int


class Drift(BaseModel):
    feature: str
    psi: float | None
    drift_level: str | None


class ModelCard(BaseModel):
    as_of: AsOf
    model_id: str
    kind: str
    status: str | None
    decision: str | None
    trained_at: datetime | None
    train_window: list[date | None]
    validation_window: list[date | None]
    test_window: list[date | None]
    rows: dict[str, int]
    positives: dict[str, int]
    features: list[str]
    metrics: list[Metric] = Field(description="Test-period metrics of the model and of the baselines it must beat.")
    calibration: list[CalibrationBin]
    drift: list[Drift] = Field(description="Latest population stability per feature, highest first.")
    drift_computed_on: date | None


class AcknowledgeIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


class SnoozeIn(BaseModel):
    days: int = Field(ge=1, le=90, description="Snooze for this many days from today.")
    note: str | None = Field(None, max_length=2000)


class OutcomeIn(BaseModel):
    outcome: Outcome
    note: str | None = Field(None, max_length=2000)


class AlertChange(BaseModel):
    as_of: AsOf
    alert: Alert
    recorded_at: datetime


class AuditEntry(BaseModel):
    audit_id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    before: dict | None
    after: dict | None


class AuditLog(BaseModel):
    items: list[AuditEntry]
