-- ARR and accounts per health tier, weekly: the portfolio's health over time.
select
    h.snapshot_date,
    coalesce(h.health_tier, 'Unknown') as health_tier,
    count(*) as accounts,
    sum(a.arr) as arr
from marts.health_score_history as h
join marts.account_daily_activity as a
    on a.account_id = h.account_id and a.activity_date = h.snapshot_date
where datediff('day', h.snapshot_date, (select max(snapshot_date) from marts.health_score_history)) % 7 = 0
    and a.arr > 0
group by all
