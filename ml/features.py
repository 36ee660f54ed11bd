"""The model's view of `marts.ml_account_snapshots`: which columns are features, the labels, and the
numeric matrix XGBoost reads. Both training and scoring go through `feature_matrix`, so a row is
encoded the same way whether it is learned from or scored."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from core.warehouse import columns
from ml.errors import ModelError

SNAPSHOTS = "marts.ml_account_snapshots"
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


def snapshot_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    found = columns(con, SNAPSHOTS)
    if not found:
        raise ModelError(f"{SNAPSHOTS} does not exist: run dbt build first")
    return found


def check_features(columns: list[str], features: list[str]) -> None:
    missing = [f for f in features if f not in columns]
    if missing:
        raise ModelError(f"{SNAPSHOTS} lacks the model's feature(s) {', '.join(missing)}")


def read_snapshots(con: duckdb.DuckDBPyConnection, where: str, features: list[str] = FEATURES) -> pd.DataFrame:
    """Keys, features, health score, labels and the notice / open-row flags of the rows matching `where`."""
    check_features(snapshot_columns(con), [*features, NOTICE, OPEN])
    columns = list(
        dict.fromkeys([*KEYS, *features, "health_score", *LABELS.values(), "label_is_complete", NOTICE, OPEN])
    )
    frame = con.execute(f"select {', '.join(columns)} from {SNAPSHOTS} where {where} order by 1, 2").df()
    frame["observation_date"] = pd.to_datetime(frame["observation_date"]).dt.date
    return frame


def feature_matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """float32 matrix in `features` order; missing values stay NaN (XGBoost learns where they go)."""
    columns = []
    for name in features:
        values = frame[name]
        if name in CODES:
            values = values.map(CODES[name])
        columns.append(pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0), dtype=np.float32)
