-- Net revenue retention, year to date: today's ARR of the accounts that paid on 1 January of the
-- as-of year (churned ones count 0) over their ARR that day. Expansion raises it above 100 %.
with clock as (
    select max(as_of_date) as as_of, date_trunc('year', max(as_of_date)) as year_start
    from marts.customer_360
),
cohort as (
    select a.account_id, a.arr as start_arr
    from marts.account_daily_activity as a, clock
    where a.activity_date = clock.year_start and a.arr > 0
),
today as (
    select a.account_id, a.arr as end_arr
    from marts.account_daily_activity as a, clock
    where a.activity_date = clock.as_of
)
select
    (select year_start from clock) as since,
    count(*) as cohort_accounts,
    sum(start_arr) as start_arr,
    sum(coalesce(end_arr, 0)) as end_arr,
    sum(coalesce(end_arr, 0)) / sum(start_arr) as net_retention
from cohort
left join today using (account_id)
