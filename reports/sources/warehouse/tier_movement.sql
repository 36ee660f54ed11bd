-- Where each account's tier was 30 days ago and where it is now, with the ARR that moved.
select
    coalesce(h.health_tier_30d_ago, 'New') as tier_30d_ago,
    coalesce(h.health_tier, 'Unknown') as tier_now,
    count(*) as accounts,
    sum(c.arr) as arr
from marts.health_scores as h
join marts.customer_360 as c using (account_id)
where c.arr > 0
group by all
