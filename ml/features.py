"""The model's view of `marts.ml_account_snapshots`: which columns are features, the labels, and the
numeric matrix XGBoost reads. Both training and scoring go through `feature_matrix`, so a row is
encoded the same way whether it is learned from or scored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml.errors import ModelError
from ml.feature_source import FeatureSource, Rows, source_of

if TYPE_CHECKING:  # the Spark environment (ml/spark_training.py) has no DuckDB
    import duckdb

SNAPSHOTS = "marts.ml_account_snapshots"
SUBSCRIPTIONS = "intermediate.int_accounts__subscriptions"
LABELS = {"churn": "churned_within_horizon", "expansion": "expanded_within_horizon"}
# Text columns become small integer codes (an order that means something: size, commitment).
CODES = {
    "segment": {"SMB": 0, "Mid-Market": 1, "Enterprise": 2},
    "billing_interval": {"month": 0, "year": 1},
}
# The account against its own longer history (dbt int_account_trends): usual level over long windows,
# recent change against it, champion, support and payment history.
ACCOUNT_HISTORY = [
    "events_per_active_user_day_90d",
    "events_per_active_user_day_180d",
    "events_per_active_user_day_365d",
    "advanced_feature_share_180d",
    "advanced_feature_share_365d",
    "daily_to_monthly_active_users_180d",
    "daily_active_users_30d_vs_180d",
    "export_share_7d",
    "export_share_30d_vs_180d",
    "high_priority_ticket_share_180d",
    "csat_bad_share_90d",
    "payment_failures_180d",
    "days_without_champion_180d",
    "champion_changes_180d",
    "champion_lost_180d",
    "days_since_champion_active",
]
# Not features: `cancellation_notice` and `cancellation_tickets_90d` restate the label (every row with
# either churned); a customer who has given notice has decided, and the churn model neither learns
# from those rows nor is measured on them (NOTICE, OPEN below; the columns stay in the mart).
FEATURES = [
    "segment",
    "billing_interval",
    "contract_term_months",
    "tenure_days",
    "days_to_term_end",
    "seats",
    "arr",
    "arr_change_90d",
    "active_users_7d",
    "active_users_30d",
    "active_users_growth_90d",
    "daily_active_seat_share",
    "monthly_active_seat_share",
    "advanced_feature_share",
    "events_per_active_user_day",
    "export_share_30d",
    "user_invites_30d",
    "event_types_30d",
    "events_30d_vs_90d",
    "open_tickets",
    "tickets_90d",
    "high_priority_tickets_90d",
    "feature_request_tickets_90d",
    "billing_tickets_90d",
    "csat_bad_share_180d",
    "payment_failures_90d",
    "overdue_invoices",
    "champion_present",
    "champion_active_days_30d",
    *ACCOUNT_HISTORY,
    "health_score",
    "usage_score",
    "adoption_score",
    "support_score",
    "billing_score",
    "relationship_score",
]
KEYS = ["account_id", "observation_date"]
# Point-in-time flags of the mart (dbt's yml defines them): notice known on the observation day, and the
# rows whose outcome is still open there, where the churn model's headline metrics are computed.
NOTICE, OPEN = "notice_given", "is_open_row"


# The rows' stated Arrow schema, whichever engine built the mart: text keys and codes, the day, the
# point-in-time flags as booleans, every other column (features, labels, horizon) as float64. Each
# batch is cast to it, so DuckDB's and Spark's integers, decimals and doubles arrive as the same numbers.
TEXT_COLUMNS = {"snapshot_id", "account_id", *CODES}
DATE_COLUMNS = {"observation_date"}
FLAG_COLUMNS = {"label_is_complete", NOTICE, OPEN}


def row_schema(columns: list[str]) -> pa.Schema:
    def type_of(name: str) -> pa.DataType:
        if name in TEXT_COLUMNS:
            return pa.string()
        if name in DATE_COLUMNS:
            return pa.date32()
        if name in FLAG_COLUMNS:
            return pa.bool_()
        return pa.float64()

    return pa.schema([(name, type_of(name)) for name in columns])


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch`'s columns in the schema's order and types (decimals and integers become float64)."""
    arrays = []
    for field in schema:
        values = batch.column(batch.schema.get_field_index(field.name))
        arrays.append(values if values.type == field.type else values.cast(field.type, safe=False))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def snapshot_columns(con: duckdb.DuckDBPyConnection | FeatureSource) -> list[str]:
    found = source_of(con).columns(SNAPSHOTS)
    if not found:
        raise ModelError(f"{SNAPSHOTS} does not exist: run dbt build first")
    return found


def check_features(columns: list[str], features: list[str]) -> None:
    missing = [f for f in features if f not in columns]
    if missing:
        raise ModelError(f"{SNAPSHOTS} lacks the model's feature(s) {', '.join(missing)}")


def read_snapshots(
    con: duckdb.DuckDBPyConnection | FeatureSource, rows: Rows, features: list[str] = FEATURES
) -> pd.DataFrame:
    """Keys, features, health score, labels, horizon and the notice / open-row flags of the snapshot rows
    matching `rows`, from the source's record batches (a DuckDB connection: its own), ordered by account
    and day."""
    source = source_of(con)
    check_features(snapshot_columns(source), [*features, NOTICE, OPEN])
    flags = ["label_is_complete", "label_horizon_days", NOTICE, OPEN]
    columns = list(dict.fromkeys([*KEYS, *features, "health_score", *LABELS.values(), *flags]))
    schema = row_schema(columns)
    batches = [conform(batch, schema) for batch in source.batches(SNAPSHOTS, columns, rows)]
    frame = pa.Table.from_batches(batches, schema=schema).to_pandas(date_as_object=True)
    return frame.sort_values(KEYS, kind="stable").reset_index(drop=True)


def churn_dates(con: duckdb.DuckDBPyConnection | FeatureSource) -> pd.Series:
    """account_id -> churn date of the accounts that churned (none when the table is absent: a fresh warehouse)."""
    source = source_of(con)
    if not {"account_id", "churn_date"} <= set(source.columns(SUBSCRIPTIONS)):
        return pd.Series([], dtype=object)
    table = source.batches(SUBSCRIPTIONS, ["account_id", "churn_date"]).read_all()
    churn = table.filter(pc.is_valid(table["churn_date"])).to_pandas()
    return pd.Series(pd.to_datetime(churn["churn_date"]).dt.date.to_numpy(), index=churn["account_id"].to_numpy())


def horizon_days(con: duckdb.DuckDBPyConnection | FeatureSource) -> int:
    """The snapshots' label horizon (90 when the mart has no rows)."""
    table = source_of(con).batches(SNAPSHOTS, ["label_horizon_days"]).read_all()
    found = pc.max(table["label_horizon_days"]).as_py() if table.num_rows else None
    return int(found) if found is not None else 90


def feature_matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """float32 matrix in `features` order; missing values stay NaN (XGBoost learns where they go)."""
    columns = []
    for name in features:
        values = frame[name]
        if name in CODES:
            values = values.map(CODES[name])
        columns.append(pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0), dtype=np.float32)
