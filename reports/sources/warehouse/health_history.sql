-- Health score, tier and components per account, weekly (every 7th day back from the as-of date):
-- enough for trends, and small enough for an account page to load in the browser.
select
    h.account_id,
    h.snapshot_date,
    h.health_score,
    coalesce(h.health_tier, 'Unknown') as health_tier,
    h.usage_score,
    h.adoption_score,
    h.support_score,
    h.billing_score,
    h.relationship_score
from marts.health_score_history as h
where datediff('day', h.snapshot_date, (select max(snapshot_date) from marts.health_score_history)) % 7 = 0
