-- Health score per account and snapshot date.
select
    cast(account_id as varchar) as account_id,
    snapshot_date,
    health_score
from marts.health_score_history
