"""The Copilot API over the S world: the built warehouse with test scores, a champion model's card
and one alert evaluation, published as a serving snapshot; tokens signed by the sandbox's issuer key."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from alerts import lifecycle
from api.app import create_app
from api.auth import KeySet
from api.settings import ApiSettings, AuthSettings
from api.snapshot import publish
from api.store import AppStore
from core.clock import require_as_of_date
from sandbox.emulators import oidc
from tests.pipeline import DbtRun, dbt
from tests.sync.conftest import add_fake_scores

ISSUER = "http://127.0.0.1:8765/oidc"
AUDIENCE = "copilot-api"
STAFF = {"admin": "admin@copilot.sandbox", "cs_ops": "ops@copilot.sandbox", "analyst": "analyst@copilot.sandbox"}

# A champion churn model's registry row, metrics and calibration (the real ones come from the ML part).
FAKE_MODEL = """
CREATE OR REPLACE TABLE ml.model_registry AS
SELECT 'churn-test' AS model_id, 'churn' AS model_kind, TIMESTAMP '2026-10-31 06:00:00' AS trained_at,
    DATE '2025-01-01' AS train_start, DATE '2025-12-31' AS train_end, DATE '2026-02-01' AS valid_start,
    DATE '2026-03-31' AS valid_end, DATE '2026-06-01' AS test_start, DATE '2026-07-31' AS test_end,
    '["health_score", "arr"]' AS features, '{"horizon_days": 90}' AS params,
    '{"xgboost": {"roc_auc": 0.81, "ece": 0.02}, "rows": {"train": 1000, "valid": 200, "test": 200},
      "positives": {"train": 50, "valid": 10, "test": 9}}' AS metrics,
    'champion' AS status, 'promoted: first model of its kind' AS decision;
CREATE OR REPLACE TABLE ml.model_metrics AS
SELECT 'churn-test' AS model_id, 'churn' AS model_kind, 'xgboost' AS scorer, 'roc_auc' AS metric, 0.81 AS value
UNION ALL SELECT 'churn-test', 'churn', 'health_score', 'roc_auc', 0.66;
CREATE OR REPLACE TABLE ml.calibration_curve AS
SELECT 'churn-test' AS model_id, 0 AS bin, 0.05 AS mean_predicted, 0.04 AS observed_rate, 150 AS rows;
CREATE OR REPLACE TABLE ml.feature_drift AS
SELECT DATE '2026-10-31' AS computed_on, 'churn-test' AS model_id, 'arr' AS feature, 0.31 AS psi,
    'major' AS drift_level;
"""


@pytest.fixture(scope="session")
def api_warehouse(built_warehouse: tuple[Path, DbtRun], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built S warehouse with test scores, a champion model and one alert evaluation (read-only:
    copy it)."""
    path = tmp_path_factory.mktemp("api-warehouse") / "warehouse.duckdb"
    shutil.copyfile(built_warehouse[0], path)
    add_fake_scores(path)
    with duckdb.connect(str(path)) as con:
        con.execute(FAKE_MODEL)
    run = dbt(path, "build", "--select", "alert_rules alert_settings tag:alerts stg_copilot_app__alert_feedback")
    assert run.returncode == 0, run.output[-3000:]
    with duckdb.connect(str(path)) as con:
        lifecycle.evaluate(con, require_as_of_date(con))
    return path


@dataclass(frozen=True)
class People:
    """Sandbox users by role, and the accounts each CRM user owns (from the warehouse, not the API)."""

    csm: str  # a CSM with accounts
    csm_id: str
    other_csm: str  # another CSM with accounts, outside `csm`'s and `manager`'s scope
    other_csm_id: str
    manager: str  # a CRM user made a manager of `csm` by the access file ([teams])
    manager_id: str
    vp: str  # the CRM user the CSMs report to
    vp_reports: frozenset[str]  # CRM user ids reporting to `vp`, directly or further down
    owned: dict[str, set[str]]  # CRM user id -> account ids
    all_accounts: set[str]

    @property
    def team_accounts(self) -> set[str]:
        return self.owned[self.manager_id] | self.owned[self.csm_id]


def people_of(warehouse: Path) -> People:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """SELECT u.user_id, u.email, count(*) AS n FROM marts.customer_360 AS c
            JOIN staging.stg_salesforce__users AS u ON u.user_id = c.csm_user_id
            WHERE u.is_active GROUP BY ALL ORDER BY n DESC, u.user_id"""
        ).fetchall()
        owned: dict[str, set[str]] = {}
        for account_id, owner in con.execute("SELECT account_id, csm_user_id FROM marts.customer_360").fetchall():
            owned.setdefault(owner, set()).add(account_id)
        users = con.execute("SELECT user_id, email, manager_user_id FROM staging.stg_salesforce__users").fetchall()
    assert len(rows) >= 3, "the S world needs at least three CSMs with accounts"
    (csm_id, csm, _), (other_id, other, _), (manager_id, manager, _) = rows[:3]
    vp_id, vp = next((u[0], u[1]) for u in users if any(x[2] == u[0] for x in users))
    reports: set[str] = set()
    frontier = [vp_id]
    while frontier:
        boss = frontier.pop()
        for user_id, _, manager_user_id in users:
            if manager_user_id == boss and user_id not in reports:
                reports.add(user_id)
                frontier.append(user_id)
    all_accounts = {a for ids in owned.values() for a in ids}
    return People(csm, csm_id, other, other_id, manager, manager_id, vp, frozenset(reports), owned, all_accounts)


@pytest.fixture(scope="session")
def people(api_warehouse: Path) -> People:
    return people_of(api_warehouse)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return oidc.signing_key(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="session")
def token(signing_key) -> Callable[..., dict[str, str]]:  # noqa: ANN001
    def make(email: str, audience: str = AUDIENCE, lifetime: int = 600, issuer: str = ISSUER) -> dict[str, str]:
        return {"Authorization": "Bearer " + oidc.mint(signing_key, issuer, email, None, audience, lifetime)}

    return make


@dataclass
class ApiWorld:
    client: TestClient
    serving: Path
    store: AppStore
    warehouse: Path
    app: object


def make_api(
    tmp: Path,
    warehouse: Path,
    signing_key,
    people: People,
    rate: tuple[int, int] = (60_000, 10_000),  # noqa: ANN001
    database_url: str | None = None,
) -> ApiWorld:
    serving = tmp / "serving"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        publish(con, serving)
    access = tmp / "access.toml"
    access.write_text(
        "[users]\n"
        + "".join(f'"{email}" = "{role}"\n' for role, email in STAFF.items())
        + f'"{people.manager}" = "manager"\n'
        + f'\n[teams]\n"{people.manager}" = ["{people.csm}"]\n'
    )
    settings = ApiSettings(
        host="127.0.0.1",
        port=0,
        database_url=database_url or f"sqlite:///{tmp / 'app.sqlite'}",
        serving_dir=serving,
        access_file=access,
        cors_origins=(),
        rate_per_minute=rate[0],
        rate_burst=rate[1],
        reports_dir=tmp / "site",
    )
    store = AppStore(settings.database_url)
    app = create_app(
        settings, AuthSettings(ISSUER, AUDIENCE, "unused"), KeySet(jwks={"keys": [oidc.public_jwk(signing_key)]}), store
    )
    return ApiWorld(TestClient(app), serving, store, warehouse, app)


@pytest.fixture
def api(api_warehouse: Path, signing_key, people: People, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: ANN001
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(api_warehouse, warehouse)
    world = make_api(tmp_path, warehouse, signing_key, people)
    yield world
    world.client.close()
    world.store.dispose()
