"""Shared by the report tests: paths, the report warehouse and the types the fixtures return.

The report warehouse is the S world built by the real pipelines and dbt (the `built_warehouse`
session fixture) plus the tables that scoring, alerts and the CRM sync write, constructed here from
the marts with small, deterministic rows that follow the shared table contracts. The tests compute
every figure they expect from that same file.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tests.pipeline import dbt

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "reports"
# What a build needs from reports/; everything else (node_modules, build outputs, the read copy of
# the warehouse) is left behind.
PROJECT_FILES = ["package.json", "evidence.config.yaml", "evidence.settings.json", "pages", "sources", "scripts"]


def copy_reports_project(project: Path) -> Path:
    """A private copy of the Evidence project at `project`, sharing reports/node_modules, so that a
    test's build never touches reports/build or the read copy of the real warehouse."""
    project.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPORTS / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("*.duckdb", "*.duckdb.tmp", "*.wal"))
        else:
            shutil.copy2(source, project / name)
    (project / "node_modules").symlink_to(REPORTS / "node_modules")
    return project


CHURN_MODEL = "churn-20261026-a1b2c3"
RETIRED_CHURN_MODEL = "churn-20261019-d4e5f6"
EXPANSION_MODEL = "expansion-20261026-0a9b8c"
FEATURES = [
    "monthly_active_seat_share",
    "active_users_growth_90d",
    "health_score",
    "payment_failures_90d",
    "champion_present",
    "tickets_90d",
    "days_to_term_end",
    "advanced_feature_share",
]

# A number in [0, 1) from a text, stable across runs (DuckDB's hash() is stable for a version).
_NOISE = "((hash({}) % 1000) / 1000.0)"


def _noise(expr: str) -> str:
    return _NOISE.format(expr)


def add_downstream_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ml, alerts and reverse_etl tables from the marts (replacing them)."""
    for schema in ("ml", "alerts", "reverse_etl"):
        con.execute(f"drop schema if exists {schema} cascade")
        con.execute(f"create schema {schema}")
    (as_of,) = con.execute("select max(as_of_date) from marts.customer_360").fetchone()
    con.execute("create temp table as_of as select cast(? as date) as d", [as_of])

    # Scores: weekly for 12 weeks, churn probability falling with the health score at the time.
    con.execute(
        f"""
        create table ml.account_scores as
        with weeks as (
            select cast(d - interval (7 * w) day as date) as scored_on
            from as_of, range(0, 12) as t(w)
        ),
        scored as (
            select
                h.account_id,
                weeks.scored_on,
                -- x.xxx2: a percentage with one decimal never sits on a rounding tie
                least(0.97, greatest(0.01, round(
                    power((100 - h.health_score) / 100.0, 2) * 0.9 + {_noise("h.account_id || weeks.scored_on")} * 0.08,
                3))) + 0.0002 as churn_probability,
                round(least(0.95, coalesce(e.expansion_score, 0) / 110.0
                    + {_noise("h.account_id || 'x'")} * 0.05), 3) + 0.0002 as expansion_propensity,
                h.usage_score, h.support_score, h.relationship_score
            from weeks
            join marts.health_score_history as h on h.snapshot_date = weeks.scored_on
            left join marts.expansion_signals as e on e.account_id = h.account_id
            where h.health_score is not null
        )
        select
            account_id,
            scored_on,
            cast(scored_on as timestamp) + interval 6 hour as scored_at,
            '{CHURN_MODEL}' as churn_model_id,
            churn_probability,
            case when churn_probability >= 0.4 then 'High' when churn_probability >= 0.15 then 'Medium'
                 else 'Low' end as churn_risk_tier,
            '{EXPANSION_MODEL}' as expansion_model_id,
            expansion_propensity,
            case when usage_score < 50 then 'active seats low: usage score ' || round(usage_score) || ' of 100'
                 else 'product usage steady' end as driver_1,
            case when support_score < 60 then 'support load high: support score ' || round(support_score)
                 else 'no billing problems' end as driver_2,
            case when relationship_score < 50 then 'champion not active in the product' end as driver_3,
            '[]' as drivers_json
        from scored
        """
    )
    con.execute(
        """
        create table ml.account_scores_latest as
        select s.* from ml.account_scores as s
        join marts.customer_360 as c using (account_id)
        where c.arr > 0 and s.scored_on = (select max(scored_on) from ml.account_scores)
        """
    )
    con.execute(
        f"""
        create table ml.model_registry as
        select * from (values
            ('{CHURN_MODEL}', 'churn', timestamp '2026-10-26 06:00:00', date '2025-11-01', date '2026-04-30',
             date '2026-05-01', date '2026-06-30', date '2026-07-01', date '2026-08-02',
             '{json.dumps(FEATURES)}', '{{"max_depth": 4}}', '{{"roc_auc": 0.812}}', 'fp-a1',
             'data/models/a.json',
             'champion', 'Beats the champion on test ROC AUC (0.812 vs 0.774) with calibration error under 0.05.',
             timestamp '2026-10-26 06:05:00'),
            ('{RETIRED_CHURN_MODEL}', 'churn', timestamp '2026-10-19 06:00:00', date '2025-11-01',
             date '2026-04-23', date '2026-04-24', date '2026-06-23', date '2026-06-24', date '2026-07-26',
             '[]', '{{}}', '{{"roc_auc": 0.774}}', 'fp-d4', 'data/models/d.json', 'retired',
             'Replaced by a better model.', timestamp '2026-10-26 06:05:00'),
            ('{EXPANSION_MODEL}', 'expansion', timestamp '2026-10-26 06:10:00', date '2025-11-01',
             date '2026-04-30', date '2026-05-01', date '2026-06-30', date '2026-07-01', date '2026-08-02',
             '[]', '{{}}', '{{"roc_auc": 0.701}}', 'fp-0a', 'data/models/e.json', 'champion',
             'First expansion model.', timestamp '2026-10-26 06:12:00')
        ) as t(model_id, model_kind, trained_at, train_start, train_end, valid_start, valid_end, test_start,
               test_end, features, params, metrics, data_fingerprint, file_path, status, decision, decided_at)
        """
    )
    metrics = {
        "xgboost": [0.812, 0.356, 0.061, 0.031, 3.42, 0.64],
        "health_score": [0.741, 0.252, 0.072, 0.118, 2.61, 0.47],
        "logistic_regression": [0.774, 0.301, 0.066, 0.044, 2.95, 0.55],
    }
    # The headline scorers are on open rows; the all_rows_ ones on every test row (secondary).
    metrics.update({f"all_rows_{scorer}": [v * 1.1 for v in values] for scorer, values in list(metrics.items())})
    names = ["roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "recall_60d"]
    con.execute(
        "create table ml.model_metrics (model_id varchar, model_kind varchar, scorer varchar, metric varchar, "
        "value double)"
    )
    con.executemany(
        "insert into ml.model_metrics values (?, 'churn', ?, ?, ?)",
        [
            (CHURN_MODEL, scorer, name, value)
            for scorer, values in metrics.items()
            for name, value in zip(names, values, strict=True)
        ],
    )
    # Calibration on the open test rows: ten probability bins, the three risk tiers and ten deciles.
    con.execute(
        f"""create table ml.calibration_curve as
        select '{CHURN_MODEL}' as model_id, b as bin, (b + 0.5) / 10.0 as mean_predicted,
               round((b + 0.5) / 10.0 * (0.9 + (b % 3) * 0.05), 3) as observed_rate, 400 - b * 30 as rows,
               'probability_bin' as breakdown, null::varchar as label,
               null::double as observed_ci_low, null::double as observed_ci_high
        from range(0, 10) as t(b)
        union all
        select '{CHURN_MODEL}', b, [0.231, 0.094, 0.018][b], [0.102, 0.071, 0.015][b], [180, 720, 2600][b],
               'risk_tier', ['High', 'Medium', 'Low'][b], [0.061, 0.052, 0.011][b], [0.149, 0.093, 0.02][b]
        from range(1, 4) as t(b)
        union all
        select '{CHURN_MODEL}', d, round(0.2 / d, 4), round(0.15 / d, 4), 350, 'decile', null, null, null
        from range(1, 11) as t(d)"""
    )
    con.execute(
        f"""create table ml.lift_curve as
        select '{CHURN_MODEL}' as model_id, d as decile, 350 as rows, (36 - d * 3.5)::integer as positives,
               (36 - d * 3.5)::integer / 350.0 as positive_rate,
               round((36 - d * 3.5)::integer / 350.0 / 0.0597, 2) as lift
        from range(1, 11) as t(d)"""
    )
    con.execute(
        "create table ml.feature_importance (model_id varchar, feature varchar, importance double, rank integer)"
    )
    con.executemany(
        "insert into ml.feature_importance values (?, ?, ?, ?)",
        [(CHURN_MODEL, f, round(0.3 / (i + 1), 4), i + 1) for i, f in enumerate(FEATURES)],
    )
    con.execute(
        "create table ml.feature_drift (computed_on date, model_id varchar, feature varchar, psi double, "
        "drift_level varchar)"
    )
    psis = [0.02, 0.14, 0.05, 0.27, 0.01, 0.08, 0.03, 0.04, 0.06]
    con.executemany(
        "insert into ml.feature_drift values (?, ?, ?, ?, ?)",
        [
            (as_of, CHURN_MODEL, f, psi, "major" if psi >= 0.25 else "moderate" if psi >= 0.1 else "none")
            for f, psi in zip([*FEATURES, "__score__"], psis, strict=True)
        ],
    )
    con.execute(
        f"""create table ml.realised_performance as
        select '{CHURN_MODEL}' as model_id, cast(d - interval (90 + 7 * w) day as date) as scored_on,
               1600 + w * 5 as accounts, 18 + w as churned, 0.052 + w * 0.001 as mean_probability,
               (18 + w) / (1600.0 + w * 5) as observed_rate, 0.79 - w * 0.01 as roc_auc
        from as_of, range(0, 6) as t(w)"""
    )

    # Alerts: the red and high-risk accounts get one, some of them already closed with an outcome.
    con.execute(
        """
        create table alerts.alerts as
        with picked as (
            select c.account_id, c.csm_user_id, c.csm_name, c.health_score, c.health_tier, s.churn_probability,
                   row_number() over (order by c.account_id) as n
            from marts.customer_360 as c
            join ml.account_scores_latest as s using (account_id)
            where c.health_tier = 'Red' or s.churn_risk_tier = 'High' or c.payment_failures_90d > 0
        )
        select
            'alt-' || md5(account_id || rule_id)[:12] as alert_id,
            account_id,
            rule_id,
            case rule_id when 'churn_risk_high' then 'high' when 'red_tier' then 'medium' else 'low' end as severity,
            case n % 4 when 0 then 'closed' when 1 then 'open' when 2 then 'sent' else 'acknowledged' end as status,
            cast(as_of.d - interval (n % 20) day as date) as opened_on,
            cast(as_of.d - interval (n % 5) day as date) as last_fired_on,
            cast(as_of.d as timestamp) as updated_at,
            case when n % 4 <> 1 then cast(as_of.d - interval (n % 20) day as timestamp) end as sent_at,
            case when n % 4 in (0, 3) then cast(as_of.d - interval (n % 10) day as timestamp) end as acknowledged_at,
            case when n % 4 = 0 then cast(as_of.d - interval (n % 3) day as timestamp) end as closed_at,
            case when n % 4 = 0 then case n % 3 when 0 then 'Confirmed risk' when 1 then 'False alarm'
                 else 'Already known' end end as outcome,
            case rule_id
                when 'churn_risk_high' then 'churn risk ' || round(churn_probability * 100) || ' % in 90 days'
                when 'red_tier' then 'health score ' || health_score || ' (Red)'
                else 'payment failed in the last 90 days' end as message,
            csm_user_id as owner_user_id,
            csm_name as owner_name,
            case when n % 4 <> 1 then '00T' || lpad(n::varchar, 12, '0') end as salesforce_task_id
        from picked, as_of,
             (select unnest(['churn_risk_high', 'red_tier', 'payment_failed']) as rule_id) as rules
        where (rule_id = 'churn_risk_high' and churn_probability >= 0.4)
           or (rule_id = 'red_tier' and health_tier = 'Red')
           or (rule_id = 'payment_failed' and n % 3 = 0)
        """
    )
    con.execute(
        """
        create table alerts.rule_precision as
        select
            rule_id,
            any_value(severity) as severity,
            count(*) filter (where status = 'closed') as alerts_closed,
            count(*) filter (where outcome = 'Confirmed risk') as confirmed,
            count(*) filter (where outcome = 'False alarm') as false_alarm,
            count(*) filter (where outcome = 'Already known') as already_known,
            count(outcome) as with_outcome,
            count(*) filter (where outcome = 'Confirmed risk')
                / nullif(count(*) filter (where status = 'closed'), 0) as precision,
            0.3::double as precision_floor,
            coalesce(count(*) filter (where outcome = 'Confirmed risk')
                / nullif(count(*) filter (where status = 'closed'), 0) < 0.3, false) as below_floor,
            false as muted,
            5 as min_outcomes
        from alerts.alerts
        group by rule_id
        """
    )

    # CRM sync log: yesterday's runs and today's, one of them with a record that failed.
    con.execute(
        """
        create table reverse_etl.sync_runs as
        select * from (values
            ('run-0001', 'salesforce_account', timestamp '2026-10-30 07:00:00', timestamp '2026-10-30 07:00:40',
             false, 'composite', 1650, 320, 320, 320, 0, 'ok', '320 accounts updated'),
            ('run-0002', 'salesforce_task', timestamp '2026-10-30 07:01:00', timestamp '2026-10-30 07:01:09',
             false, 'composite', 40, 40, 40, 40, 0, 'ok', '40 tasks created'),
            ('run-0003', 'salesforce_account', timestamp '2026-10-31 07:00:00', timestamp '2026-10-31 07:00:31',
             false, 'composite', 1652, 210, 210, 208, 2, 'partial', '2 records rejected by Salesforce'),
            ('run-0004', 'slack', timestamp '2026-10-31 07:02:00', timestamp '2026-10-31 07:02:03',
             false, 'slack', 5, 5, 5, 5, 0, 'ok', '5 messages posted')
        ) as t(run_id, destination, started_at, finished_at, dry_run, api, rows_considered, rows_changed,
               rows_sent, rows_succeeded, rows_failed, status, message)
        """
    )
    con.execute(
        """
        create table reverse_etl.sync_errors as
        select 'run-0003' as run_id, 'salesforce_account' as destination, account_id as record_key,
               'FIELD_CUSTOM_VALIDATION_EXCEPTION: Health score is locked for this account' as error,
               timestamp '2026-10-31 07:00:30' as occurred_at
        from marts.customer_360 order by account_id limit 2
        """
    )
    # The test pipelines load without the ingestion checks; the daily run records them.
    con.execute(
        """create schema if not exists raw_quality;
        create table if not exists raw_quality.check_results as
        select * from (values
            (timestamptz '2026-10-31 06:00:00+00', 'load-1', 'stripe', 'invoices', 'amounts_in_range',
             'expect_column_values_to_be_between', 'amount_due', true, '0 of 1094 out of range', null),
            (timestamptz '2026-10-31 06:00:00+00', 'load-1', 'zendesk', 'tickets', 'keys_present_and_unique',
             'expect_column_values_to_be_unique', 'id', false, '2 duplicates', null)
        ) as t(checked_at, run_id, source, table_name, check_name, expectation, column_name, success, observed,
               details)"""
    )
    con.execute("drop table as_of")


def make_report_warehouse(built: Path, path: Path) -> Path:
    """Copy the dbt-built warehouse `built` to `path` (keep the file name: dbt's views name their
    catalog after it) and add the downstream tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, path)
    with duckdb.connect(str(path)) as con:
        add_downstream_tables(con)
        con.execute("checkpoint")
    # The outbound views over the alerts just added, as the daily run's last dbt step builds them.
    run = dbt(path, "build", "--select", "tag:activation", target_path=path.parent / "dbt_target")
    assert run.returncode == 0, run.output[-3000:]
    return path


@dataclass(frozen=True)
class BuiltSite:
    project: Path  # the temporary copy of reports/ the site was built in
    build: Path
    warehouse: Path
    offline: bool  # built with the network cut
    seconds: float


def check_site_in_chromium(build: Path, paths: list[str], artifacts: Path | None = None) -> dict:
    """Serve a built site on 127.0.0.1 and open each page in Debian's chromium at 1440 px
    (tests/reports/site_check.mjs): what a reader meets on each page, by path."""
    import functools
    import http.server
    import json
    import subprocess
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(build)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        spec = {"baseUrl": f"http://127.0.0.1:{server.server_address[1]}", "paths": paths}
        if artifacts is not None:
            artifacts.mkdir(parents=True, exist_ok=True)
            spec["artifactsDir"] = str(artifacts)
        script = Path(__file__).with_name("site_check.mjs")
        proc = subprocess.run(
            ["node", str(script), json.dumps(spec)], capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, f"site_check.mjs failed:\n{proc.stderr[-3000:]}"
    observed = json.loads(proc.stdout)
    assert observed.get("driverError") is None, observed["driverError"]
    return observed["pages"]
