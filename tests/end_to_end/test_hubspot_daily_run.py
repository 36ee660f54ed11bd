"""The daily job on a company that runs its customers in HubSpot and talks in Microsoft Teams
(tests/end_to_end/hubspot.py): the first run from an empty warehouse puts every customer's scores on
its HubSpot company and each live alert in one task, owned by the company's CSM and associated with
the company, and one Teams card per urgent alert; the same day again, after a CSM completed a task with
an outcome, brings the outcome back and closes the alert, and sends nothing twice."""

from __future__ import annotations

import math
from collections import Counter

import duckdb

from ml.train import load_feedback
from tests.end_to_end.harness import query
from tests.end_to_end.hubspot import OUTCOME, HubSpotDays

# The sandbox's owner for alerts of a company without a CSM (.dlt/sandbox.toml default_hubspot_owner_id).
DEFAULT_OWNER = "1"
# Each customer's health, scores and reasons in the warehouse (the reasons as the outbound view words them).
CUSTOMERS = """
SELECT c.account_id, round(c.health_score, 1), c.health_tier, c.lifecycle_state = 'notice_given',
    round(100 * s.churn_probability, 1), round(100 * s.expansion_propensity, 1), f.risk_drivers
FROM marts.customer_360 AS c LEFT JOIN ml.account_scores_latest AS s USING (account_id)
JOIN activation.crm_account_fields AS f USING (account_id)
"""
ACTIVE = "SELECT account_id FROM marts.customer_360 WHERE subscription_status IN ('active', 'past_due', 'trialing')"


def _number(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def test_every_customer_company_shows_the_scores_the_warehouse_holds(hubspot_days: HubSpotDays) -> None:
    warehouse, companies = hubspot_days.first_warehouse, hubspot_days.first_portal.companies
    assert hubspot_days.first.succeeded and hubspot_days.rerun.succeeded
    customers = query(warehouse, CUSTOMERS)
    scored = {a for (a,) in query(warehouse, "SELECT account_id FROM ml.account_scores_latest")}
    assert len(customers) > 150 and scored == {a for (a,) in query(warehouse, ACTIVE)}
    for account, health, tier, notice, churn, expansion, drivers in customers:
        got = companies[account]
        assert math.isclose(_number(got["copilot_health_score"]), health), account
        assert got["copilot_health_tier"] == tier
        assert (got["copilot_risk_drivers"] or None) == drivers
        if account in scored:
            assert math.isclose(_number(got["copilot_expansion_score"]), expansion), account
            if notice:  # a customer that gave notice: no churn prediction, the notice first among the reasons
                assert _number(got["copilot_churn_risk"]) is None
                assert got["copilot_risk_drivers"].startswith("Notice given on ")
            else:
                assert math.isclose(_number(got["copilot_churn_risk"]), churn), account
    # Prospects and former customers carry no Copilot properties.
    others = set(companies) - {c[0] for c in customers}
    assert others and all(not companies[c]["copilot_health_score"] for c in others)


def test_each_live_alert_is_one_task_owned_by_the_csm_on_its_company(hubspot_days: HubSpotDays) -> None:
    portal, warehouse = hubspot_days.first_portal, hubspot_days.first_warehouse
    alerts = {
        alert: (account, severity)
        for alert, account, severity in query(
            warehouse, "SELECT alert_id, account_id, severity FROM alerts.alerts WHERE status <> 'closed'"
        )
    }
    assert len(alerts) > 5 and set(portal.tasks) == set(alerts)
    assert set(portal.tasks_per_alert.values()) == {1}
    for alert, task in portal.tasks.items():
        account = alerts[alert][0]
        assert task["companies"] == [account]
        csm = portal.companies[account]["customer_success_manager"]
        assert task["hubspot_owner_id"] == (csm or DEFAULT_OWNER)
        assert task["hs_task_status"] in (None, "NOT_STARTED") and not task["copilot_outcome"]  # open, for the CSM
    # Urgent alerts are also a card in Teams, one each; Slack is not the channel here.
    cards = hubspot_days.deployment.emulator.admin_call("GET", "teams/messages")["messages"]
    urgent = {a for (a,) in query(warehouse, "SELECT alert_id FROM activation.alert_messages")}
    assert urgent and Counter(c["payload"]["copilot_key"] for c in cards) == Counter(dict.fromkeys(urgent, 1))
    assert hubspot_days.first_requests["by_system"]["teams"]["writes"] == len(urgent)
    assert hubspot_days.first_requests["by_system"].get("slack", {}).get("writes", 0) == 0


def test_the_same_day_again_sends_nothing_twice_and_brings_the_outcome_back(hubspot_days: HubSpotDays) -> None:
    before, after = hubspot_days.first_portal, hubspot_days.rerun_portal
    by_system = hubspot_days.rerun_requests["by_system"]
    assert by_system["hubspot"]["writes"] == 0
    assert by_system.get("teams", {}).get("writes", 0) == 0 and by_system.get("slack", {}).get("writes", 0) == 0
    assert after.companies == before.companies
    assert set(after.tasks) == set(before.tasks) and set(after.tasks_per_alert.values()) == {1}
    completed = hubspot_days.completed_alert
    assert {a: t for a, t in after.tasks.items() if a != completed} == {
        a: t for a, t in before.tasks.items() if a != completed
    }
    assert (after.tasks[completed]["hs_task_status"], after.tasks[completed]["copilot_outcome"]) == (
        "COMPLETED",
        OUTCOME,
    )
    # The outcome came back through ingestion: the alert is closed with it, and the models learn from it.
    warehouse = hubspot_days.deployment.warehouse
    assert query(warehouse, "SELECT status, outcome FROM alerts.alerts WHERE alert_id = ?", [completed]) == [
        ("closed", OUTCOME)
    ]
    still = query(warehouse, "SELECT count(*) FROM alerts.alerts WHERE status <> 'closed'")[0][0]
    assert still == len(before.tasks) - 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        feedback = load_feedback(con)
    account = query(warehouse, "SELECT account_id FROM alerts.alerts WHERE alert_id = ?", [completed])[0][0]
    assert ((feedback["account_id"] == account) & (feedback["outcome"] == OUTCOME)).any()
