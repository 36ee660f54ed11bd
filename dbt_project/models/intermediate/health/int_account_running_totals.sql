{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Per account per customer day: running totals of the daily activity since the account's first day,
-- and the day's number in the account's history. The sum of a measure over an account's last N days
-- is its running total on the day minus the one N days before (int_account_trends), so a daily
-- build reads the few new days and one earlier row per account instead of a year of rows.
-- Incremental runs rebuild the last few days (var incremental_lookback_days) and carry the totals on
-- from each account's last row before them. Running totals are history: after rebuilding
-- account_daily_activity in full, rebuild this model with it
-- (`dbt build -s account_daily_activity+ --full-refresh`).
{% set start_expr = incremental_start_literal('activity_date') if is_incremental() else none %}
{% set summed = [
    'event_count', 'active_users', 'active_users_30d', 'advanced_event_count', 'export_event_count',
    'user_invite_count', 'users_with_email', 'tickets_opened', 'high_priority_tickets_opened',
    'feature_request_tickets_opened', 'billing_tickets_opened', 'cancellation_tickets_opened',
    'csat_good', 'csat_bad', 'payment_failures', 'champion_active_days', 'days_without_champion',
    'champion_changes',
] %}
{% set history = 'partition by account_id order by activity_date' %}

with activity as (
    select
        account_id,
        activity_date,
        has_billing_customer,
        arr,
        champions_known,
        champions_active,
        event_count,
        active_users,
        active_users_30d,
        advanced_event_count,
        export_event_count,
        user_invite_count,
        users_with_email,
        tickets_opened,
        high_priority_tickets_opened,
        feature_request_tickets_opened,
        billing_tickets_opened,
        cancellation_tickets_opened,
        csat_good,
        csat_bad,
        payment_failures,
        case when champions_active > 0 then 1 else 0 end as champion_active_days,
        case when champions_known > 0 then 0 else 1 end as days_without_champion,
        lag(champions_known) over ({{ history }}) as champions_known_day_before
    from {{ ref('account_daily_activity') }}
    {% if start_expr %}where activity_date >= {{ start_expr }}{% endif %}
),

carried as (
    {% if start_expr %}
    -- Each account's last row before the rebuilt days: where its totals carry on from.
    select built.*
    from {{ this }} as built
    inner join (
        select account_id, max(activity_date) as activity_date
        from {{ this }}
        where activity_date < {{ start_expr }} and account_id in (select account_id from activity)
        group by account_id
    ) as last_built
        on built.account_id = last_built.account_id and built.activity_date = last_built.activity_date
    {% else %}
    -- A full build carries nothing on (an empty row set of the model's columns).
    select
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_bigint() }}) as day_number,
        cast(null as date) as first_activity_date,
        cast(null as {{ dbt.type_bigint() }}) as champions_known,
        {% for column in summed -%}
        cast(null as {{ dbt.type_bigint() }}) as total_{{ column }},
        {% endfor -%}
        cast(null as date) as champion_last_active_date,
        cast(null as {{ dbt.type_bigint() }}) as champion_last_active_day_number
    from (select 1 as one) as nothing
    where 1 = 0
    {% endif %}
),

rebuilt as (
    select
        activity.*,
        -- a change in the number of champions the CRM names, against the account's day before
        case when activity.champions_known <> coalesce(activity.champions_known_day_before, carried.champions_known)
            then 1 else 0 end as champion_changes,
        coalesce(carried.day_number, 0) as carried_day_number
    from activity
    left join carried on activity.account_id = carried.account_id
),

running as (
    select
        rebuilt.*,
        carried_day_number + row_number() over ({{ history }}) as day_number,
        min(activity_date) over (partition by account_id) as first_rebuilt_date,
        {% for column in summed -%}
        sum({{ column }}) over ({{ history }} rows unbounded preceding) as running_{{ column }},
        {% endfor -%}
        max(case when champions_active > 0 then activity_date end)
            over ({{ history }} rows unbounded preceding) as champion_active_date
    from rebuilt
),

-- the day number of the last day a champion used the product (within the rebuilt days)
running_numbered as (
    select
        running.*,
        max(case when champions_active > 0 then day_number end)
            over ({{ history }} rows unbounded preceding) as champion_active_day_number
    from running
)

select
    running_numbered.account_id,
    running_numbered.activity_date,
    cast(running_numbered.day_number as {{ dbt.type_bigint() }}) as day_number,
    coalesce(carried.first_activity_date, running_numbered.first_rebuilt_date) as first_activity_date,
    running_numbered.has_billing_customer,
    -- the day's own values that later days compare against
    running_numbered.arr,
    cast(running_numbered.active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
    cast(running_numbered.champions_known as {{ dbt.type_bigint() }}) as champions_known,
    {% for column in summed -%}
    cast(coalesce(carried.total_{{ column }}, 0) + running_numbered.running_{{ column }} as {{ dbt.type_bigint() }})
        as total_{{ column }},
    {% endfor -%}
    -- the last day on or before this one that a champion used the product, and its day number
    coalesce(running_numbered.champion_active_date, carried.champion_last_active_date) as champion_last_active_date,
    cast(coalesce(running_numbered.champion_active_day_number, carried.champion_last_active_day_number)
        as {{ dbt.type_bigint() }}) as champion_last_active_day_number
from running_numbered
left join carried on running_numbered.account_id = carried.account_id
