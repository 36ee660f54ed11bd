-- Health-score validation, backtested: each complete ML snapshot (an account on an observation
-- day) with the tier its health score had that day, and whether it churned in the next horizon.
select
    coalesce(h.health_tier, 'Unknown') as health_tier,
    count(*) as snapshots,
    sum(m.churned_within_horizon) as churned,
    avg(m.churned_within_horizon) as churn_rate,
    any_value(m.label_horizon_days) as horizon_days
from marts.ml_account_snapshots as m
join marts.health_score_history as h
    on h.account_id = m.account_id and h.snapshot_date = m.observation_date
where m.label_is_complete
group by all
