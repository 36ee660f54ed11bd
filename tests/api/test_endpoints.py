"""Every endpoint for every role: what each may see (the whole portfolio, a team, their own accounts),
404 outside the scope exactly as for an account that does not exist, 401 without a valid token."""

from __future__ import annotations

import duckdb
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.emulators import oidc
from tests.api.conftest import AUDIENCE, ISSUER, STAFF, ApiWorld, People

READS = ["/v1/me", "/v1/accounts", "/v1/alerts", "/v1/portfolio/summary", "/v1/models/churn"]


def roles(people: People) -> dict[str, str]:
    return STAFF | {"manager": people.manager, "csm": people.csm, "vp": people.vp}


def scope_of(role: str, people: People) -> set[str]:
    """The accounts a role may see, from the warehouse's ownership."""
    if role in ("admin", "cs_ops", "analyst"):
        return people.all_accounts
    if role == "manager":
        return people.team_accounts
    if role == "vp":
        return {a for user in people.vp_reports for a in people.owned.get(user, ())}
    return people.owned[people.csm_id]


def all_pages(api: ApiWorld, headers: dict[str, str], **params: object) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 37, **params} | ({"cursor": cursor} if cursor else {})
        resp = api.client.get("/v1/accounts", headers=headers, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            assert len(items) == body["total"]
            return items


@pytest.mark.parametrize("role", ["admin", "cs_ops", "analyst", "manager", "vp", "csm"])
def test_accounts_list_is_the_roles_scope_and_pages_through_it(api: ApiWorld, people: People, token, role: str) -> None:
    headers = token(roles(people)[role])
    items = all_pages(api, headers)
    assert {i["account_id"] for i in items} == scope_of(role, people)
    assert len(items) == len({i["account_id"] for i in items})  # no account twice across pages
    me = api.client.get("/v1/me", headers=headers).json()
    assert me["role"] == ("manager" if role == "vp" else role)


@pytest.mark.parametrize("role", ["admin", "cs_ops", "analyst", "manager", "vp", "csm"])
def test_one_account_inside_the_scope_and_404_outside(api: ApiWorld, people: People, token, role: str) -> None:
    headers = token(roles(people)[role])
    inside = sorted(scope_of(role, people))[0]
    resp = api.client.get(f"/v1/accounts/{inside}", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["account"]["account_id"] == inside
    assert body["as_of"]["as_of_date"]
    outside = sorted(people.all_accounts - scope_of(role, people))
    missing = api.client.get("/v1/accounts/0010000000NOSUCHAAA", headers=headers)
    assert missing.status_code == 404
    if outside:
        hidden = api.client.get(f"/v1/accounts/{outside[0]}", headers=headers)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"].startswith("application/problem+json")
        # The same answer as for an account that does not exist, but for the id it names.
        assert hidden.json()["title"] == missing.json()["title"]
    else:
        assert role in ("admin", "cs_ops", "analyst")


def test_analyst_sees_contacts_masked_and_a_csm_sees_them(api: ApiWorld, people: People, token) -> None:
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        account_id, email = con.execute(
            "SELECT c.account_id, k.email FROM marts.customer_360 AS c JOIN staging.stg_salesforce__contacts AS k "
            "USING (account_id) WHERE c.csm_user_id = ? AND k.email IS NOT NULL ORDER BY 1, 2 LIMIT 1",
            [people.csm_id],
        ).fetchone()
    own = api.client.get(f"/v1/accounts/{account_id}", headers=token(people.csm)).json()
    assert email in {c["email"] for c in own["contacts"]}
    masked = api.client.get(f"/v1/accounts/{account_id}", headers=token(STAFF["analyst"])).json()
    assert email not in {c["email"] for c in masked["contacts"]}
    assert all(c["name"] in (None, "•••") for c in masked["contacts"])
    assert {c["email"].split("@")[1] for c in masked["contacts"] if c["email"]} == {email.split("@")[1]}


def test_account_page_says_what_the_numbers_mean(api: ApiWorld, people: People, token) -> None:
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        account_id, probability, health = con.execute(
            "SELECT s.account_id, s.churn_probability, h.health_score FROM ml.account_scores_latest AS s "
            "JOIN marts.health_scores AS h USING (account_id) JOIN marts.customer_360 AS c USING (account_id) "
            "WHERE c.csm_user_id = ? AND c.lifecycle_state <> 'notice_given' "
            "ORDER BY s.churn_probability DESC, s.account_id LIMIT 1",
            [people.csm_id],
        ).fetchone()
    body = api.client.get(f"/v1/accounts/{account_id}", headers=token(people.csm)).json()
    assert body["churn"]["probability"] == pytest.approx(probability)
    assert body["churn"]["notice"] is None
    assert "90 days" in body["churn"]["meaning"]
    assert body["health"]["score"] == pytest.approx(health)
    assert [c["component"] for c in body["health"]["components"]] == [
        "usage",
        "adoption",
        "support",
        "billing",
        "relationship",
    ]
    trend = body["health"]["weekly_trend"]
    assert trend and trend[-1]["day"] == body["as_of"]["as_of_date"]
    assert all(p["day"] < q["day"] for p, q in zip(trend, trend[1:], strict=False))


@pytest.mark.parametrize("role", ["admin", "cs_ops", "analyst", "manager", "csm"])
def test_book_of_a_csm_in_scope_and_404_outside(api: ApiWorld, people: People, token, role: str) -> None:
    headers = token(roles(people)[role])
    mine = api.client.get(f"/v1/csms/{people.csm_id}/book", headers=headers)
    assert mine.status_code == 200
    assert {a["account_id"] for a in mine.json()["accounts"]} == people.owned[people.csm_id]
    assert mine.json()["summary"]["accounts"] == len(people.owned[people.csm_id])
    other = api.client.get(f"/v1/csms/{people.other_csm_id}/book", headers=headers)
    assert other.status_code == (200 if role in ("admin", "cs_ops", "analyst") else 404)


@pytest.mark.parametrize("role", ["admin", "cs_ops", "analyst", "manager", "csm"])
def test_alerts_and_summary_stay_in_scope(api: ApiWorld, people: People, token, role: str) -> None:
    headers = token(roles(people)[role])
    scope = scope_of(role, people)
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        alerts = con.execute("SELECT alert_id, account_id, owner_user_id FROM alerts.alerts").fetchall()
    expected = {a for a, account, _ in alerts if account in scope}
    got = api.client.get("/v1/alerts", headers=headers, params={"scope": "all", "limit": 1000}).json()["items"]
    assert {a["alert_id"] for a in got} == expected
    summary = api.client.get("/v1/portfolio/summary", headers=headers).json()["summary"]
    assert summary["accounts"] == len(scope)
    if role == "csm":
        mine = api.client.get("/v1/alerts", headers=headers, params={"scope": "mine"}).json()["items"]
        assert {a["alert_id"] for a in mine} == {
            a for a, acc, owner in alerts if owner == people.csm_id and acc in scope
        }


def test_model_card_for_every_role(api: ApiWorld, people: People, token) -> None:
    for email in roles(people).values():
        card = api.client.get("/v1/models/churn", headers=token(email))
        assert card.status_code == 200
        body = card.json()
        assert body["model_id"] == "churn-test"
        assert body["rows"]["test"] == 200
        assert {(m["scorer"], m["metric"]) for m in body["metrics"]} >= {("xgboost", "roc_auc")}
        assert body["drift"][0]["feature"] == "arr"
    assert api.client.get("/v1/models/expansion", headers=token(people.csm)).status_code == 404
    assert api.client.get("/v1/models/other", headers=token(people.csm)).status_code == 422


def test_audit_log_is_for_admins_only(api: ApiWorld, people: People, token) -> None:
    assert api.client.get("/v1/audit", headers=token(STAFF["admin"])).status_code == 200
    for email in (STAFF["cs_ops"], STAFF["analyst"], people.manager, people.csm):
        assert api.client.get("/v1/audit", headers=token(email)).status_code == 403


@pytest.mark.parametrize("path", READS + ["/v1/accounts/x", "/v1/csms/x/book", "/v1/audit"])
def test_401_without_or_with_a_bad_token(api: ApiWorld, people: People, token, signing_key, path: str) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = oidc.mint(other_key, ISSUER, people.csm, None, AUDIENCE, 600)
    # Signed with another key under the issuer's key id: the signature does not verify.
    forged_kid = jwt.encode(
        jwt.decode(forged, options={"verify_signature": False}),
        other_key,
        algorithm="RS256",
        headers={"kid": oidc.public_jwk(signing_key)["kid"]},
    )
    expired = token(people.csm, lifetime=-120)
    bad = [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {forged_kid}"},
        expired,
        token(people.csm, audience="another-api"),
        token(people.csm, issuer="http://127.0.0.1:9/evil"),
    ]
    for headers in bad:
        resp = api.client.get(path, headers=headers)
        assert resp.status_code == 401, (headers, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "Bearer" in resp.headers["www-authenticate"]
        assert (headers.get("Authorization") or "-").removeprefix("Bearer ") not in resp.text


def test_a_signed_in_stranger_gets_403(api: ApiWorld, token) -> None:
    resp = api.client.get("/v1/me", headers=token("nobody@example.com"))
    assert resp.status_code == 403


def test_bad_parameters_answer_422_naming_the_field(api: ApiWorld, people: People, token) -> None:
    headers = token(people.csm)
    for params, field in [
        ({"limit": "many"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"tier": "Purple"}, "tier"),
        ({"sort": "shoe_size"}, "sort"),
        ({"renewal_within_days": -1}, "renewal_within_days"),
        ({"cursor": "garbage"}, "cursor"),
    ]:
        resp = api.client.get("/v1/accounts", headers=headers, params=params)
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in resp.json()["errors"]] == [field]


def test_filters_and_sort(api: ApiWorld, people: People, token) -> None:
    headers = token(STAFF["cs_ops"])
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        red = {
            r[0] for r in con.execute("SELECT account_id FROM marts.customer_360 WHERE health_tier = 'Red'").fetchall()
        }
        high = {
            r[0]
            for r in con.execute(
                "SELECT account_id FROM ml.account_scores_latest JOIN marts.customer_360 USING (account_id) "
                "WHERE churn_risk_tier = 'High' AND csm_user_id = ?",
                [people.csm_id],
            ).fetchall()
        }
    assert {a["account_id"] for a in all_pages(api, headers, tier="Red")} == red
    assert {a["account_id"] for a in all_pages(api, headers, risk="High", owner=people.csm_id)} == high
    by_risk = all_pages(api, headers, sort="churn_risk")
    probabilities = [a["churn_probability"] for a in by_risk if a["churn_probability"] is not None]
    assert probabilities == sorted(probabilities, reverse=True)
    # Accounts that gave notice come first, by contract end (announced churn, no probability to rank by).
    given = [a for a in by_risk if a["notice"]]
    assert given and by_risk[: len(given)] == given
    ends = [a["notice"]["contract_ends_on"] for a in given]
    assert ends == sorted(ends)
    soon = all_pages(api, headers, renewal_within_days=60)
    assert soon and all(0 <= a["days_to_renewal"] <= 60 for a in soon)


def test_rate_limit_per_token_answers_429_with_retry_after(
    api_warehouse, signing_key, people: People, token, tmp_path
) -> None:  # noqa: ANN001
    import shutil

    from tests.api.conftest import make_api

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(api_warehouse, warehouse)
    limited = make_api(tmp_path, warehouse, signing_key, people, rate=(60, 5))
    mine, theirs = token(people.csm), token(people.other_csm)
    statuses = [limited.client.get("/v1/me", headers=mine).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = limited.client.get("/v1/me", headers=mine)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    # Another token has its own allowance.
    assert limited.client.get("/v1/me", headers=theirs).status_code == 200
    limited.store.dispose()


def test_openapi_document_lists_every_endpoint(api: ApiWorld) -> None:
    document = api.client.get("/openapi.json").json()
    assert {
        "/v1/accounts",
        "/v1/accounts/{account_id}",
        "/v1/alerts",
        "/v1/csms/{user_id}/book",
        "/v1/portfolio/summary",
        "/v1/models/{kind}",
        "/v1/alerts/{alert_id}/outcome",
        "/v1/alerts/{alert_id}/acknowledge",
        "/v1/alerts/{alert_id}/snooze",
    } <= set(document["paths"])
    assert api.client.get("/docs").status_code == 200


def notice_accounts(warehouse) -> dict[str, tuple]:  # noqa: ANN001
    """The S world's accounts that gave notice, from the warehouse: id -> (given on, ends on, CSM, ARR)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT account_id, notice_given_on, notice_ends_on, csm_user_id, arr FROM marts.customer_360 "
            "WHERE lifecycle_state = 'notice_given' ORDER BY account_id"
        ).fetchall()
        # The test scores give these accounts a probability too, as the model does: the API must not show it.
        assert con.execute(
            "SELECT count(*) FROM ml.account_scores_latest AS s JOIN marts.customer_360 AS c USING (account_id) "
            "WHERE c.lifecycle_state = 'notice_given' AND s.churn_probability IS NOT NULL"
        ).fetchone()[0] == len(rows)
    return {r[0]: r[1:] for r in rows}


def test_an_account_that_gave_notice_shows_the_announced_churn_not_a_probability(
    api: ApiWorld, people: People, token
) -> None:
    """As in the CRM: no churn percentage for a notice account, the notice's dates and the save play
    instead, on the account page, in the list, in the book and in the risk filter."""
    given = notice_accounts(api.warehouse)
    assert given, "the S world has accounts that gave notice"
    headers = token(STAFF["cs_ops"])
    account_id, (given_on, ends_on, csm_id, _) = next((k, v) for k, v in given.items() if v[2])
    body = api.client.get(f"/v1/accounts/{account_id}", headers=headers).json()
    churn = body["churn"]
    sentence = f"Notice given on {given_on}, contract ends {ends_on}: save play (announced churn, no churn risk)"
    assert churn["probability"] is None
    assert churn["tier"] == "Notice given"
    assert churn["notice"] == {
        "given_on": str(given_on),
        "contract_ends_on": str(ends_on),
        "sentence": sentence,
    }
    assert churn["reasons"][0] == sentence
    assert "%" not in churn["meaning"] and "announced" in churn["meaning"]
    assert body["renewal"]["notice_given"] is True

    listed = {a["account_id"]: a for a in all_pages(api, headers)}
    for notice_id, (on, ends, _, _) in given.items():
        item = listed[notice_id]
        assert item["churn_probability"] is None
        assert item["churn_risk_tier"] == "Notice given"
        assert item["notice"]["given_on"] == str(on) and item["notice"]["contract_ends_on"] == str(ends)
    assert all(a["notice"] is None for i, a in listed.items() if i not in given)
    assert {a["account_id"] for a in all_pages(api, headers, risk="Notice given")} == set(given)
    assert not set(given) & {a["account_id"] for a in all_pages(api, headers, risk="High")}

    book = api.client.get(f"/v1/csms/{csm_id}/book", headers=headers).json()
    in_book = [a for a in book["accounts"] if a["account_id"] in given]
    assert in_book and book["accounts"][: len(in_book)] == in_book
    assert all(a["churn_probability"] is None for a in in_book)
    assert book["summary"]["by_churn_risk"]["Notice given"] == len(in_book)
    assert book["summary"]["arr_notice_given"] == pytest.approx(sum(given[a["account_id"]][3] or 0 for a in in_book))


def test_openapi_describes_the_notice_and_the_null_probability(api: ApiWorld) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("AccountSummary", "ChurnRisk"):
        properties = schemas[name]["properties"]
        probability = properties["churn_probability" if name == "AccountSummary" else "probability"]
        assert {"type": "null"} in probability["anyOf"] and "notice" in probability["description"]
        assert {"$ref": "#/components/schemas/Notice"} in properties["notice"]["anyOf"]
    assert set(schemas["Notice"]["required"]) == {"given_on", "contract_ends_on", "sentence"}
