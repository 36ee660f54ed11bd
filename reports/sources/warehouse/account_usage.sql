-- Product usage per account and week: the weekly points fall on the last day of data and every 7th
-- day before it; each day counts towards the point that ends its week.
with ends as (
    select max(activity_date) as last_day from marts.account_daily_activity
)
select
    a.account_id,
    cast(a.activity_date + interval (datediff('day', a.activity_date, ends.last_day) % 7) day as date) as week_ending,
    max(a.active_users_7d) filter (where datediff('day', a.activity_date, ends.last_day) % 7 = 0) as active_users_7d,
    sum(a.event_count) as events,
    max(a.seats) as seats
from marts.account_daily_activity as a, ends
group by all
