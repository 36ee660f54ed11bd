{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Per account per day: how the account behaves against its own longer history, for the churn model.
-- A customer's usual level is measured over long windows (90, 180 and 365 days, which average out
-- the day-to-day noise of a few users), its recent change against that level, and the history of its
-- champion, support and payments. Every measure reads only that day and the days before it, from
-- account_daily_activity (one row per customer day, so `rows between` windows are day windows); event
-- categories come from var event_taxonomy through it. NULL where the input does not exist (no events,
-- no rated tickets, no billing customer, no champion data in the CRM at all).
{% set start_expr = incremental_start_literal('snapshot_date') if is_incremental() else none %}
{% set w7 = 'partition by account_id order by activity_date rows between 6 preceding and current row' %}
{% set w30 = 'partition by account_id order by activity_date rows between 29 preceding and current row' %}
{% set w90 = 'partition by account_id order by activity_date rows between 89 preceding and current row' %}
{% set w180 = 'partition by account_id order by activity_date rows between 179 preceding and current row' %}
{% set w365 = 'partition by account_id order by activity_date rows between 364 preceding and current row' %}

with activity as (
    select
        *,
        lag(champions_known) over (partition by account_id order by activity_date) as champions_known_day_before
    from {{ ref('account_daily_activity') }}
    {% if start_expr %}where activity_date >= {{ add_days(start_expr, -366) }}{% endif %}
),

windows as (
    select
        account_id,
        activity_date,
        has_billing_customer,
        champions_known,
        active_users_30d,
        count(*) over ({{ w180 }}) as days_180d,
        sum(event_count) over ({{ w7 }}) as events_7d,
        sum(event_count) over ({{ w30 }}) as events_30d,
        sum(event_count) over ({{ w90 }}) as events_90d,
        sum(event_count) over ({{ w180 }}) as events_180d,
        sum(event_count) over ({{ w365 }}) as events_365d,
        sum(active_users) over ({{ w90 }}) as active_user_days_90d,
        sum(active_users) over ({{ w180 }}) as active_user_days_180d,
        sum(active_users) over ({{ w365 }}) as active_user_days_365d,
        avg(active_users) over ({{ w30 }}) as daily_active_users_30d,
        avg(active_users) over ({{ w180 }}) as daily_active_users_180d,
        avg(active_users_30d) over ({{ w180 }}) as monthly_active_users_180d,
        sum(advanced_event_count) over ({{ w180 }}) as advanced_events_180d,
        sum(advanced_event_count) over ({{ w365 }}) as advanced_events_365d,
        sum(export_event_count) over ({{ w7 }}) as export_events_7d,
        sum(export_event_count) over ({{ w30 }}) as export_events_30d,
        sum(export_event_count) over ({{ w180 }}) as export_events_180d,
        sum(tickets_opened) over ({{ w180 }}) as tickets_180d,
        sum(high_priority_tickets_opened) over ({{ w180 }}) as high_priority_tickets_180d,
        sum(csat_good) over ({{ w90 }}) as csat_good_90d,
        sum(csat_bad) over ({{ w90 }}) as csat_bad_90d,
        sum(payment_failures) over ({{ w180 }}) as payment_failures_180d,
        max(champions_known) over ({{ w180 }}) as most_champions_180d,
        sum(case when champions_known > 0 then 0 else 1 end) over ({{ w180 }})
            as days_without_champion_180d,
        sum(case when champions_known <> champions_known_day_before then 1 else 0 end)
            over ({{ w180 }}) as champion_changes_180d,
        max(case when champions_active > 0 then activity_date end) over ({{ w180 }})
            as champion_last_active_date
    from activity
),

-- Is there any champion data in the CRM at all (one row, cross-joined)?
crm as (
    select count(*) > 0 as names_champions from {{ ref('int_contacts__champions') }}
)

select
    {{ dbt.concat(['account_id', "'|'", 'cast(activity_date as ' ~ dbt.type_string() ~ ')']) }} as account_day_id,
    account_id,
    activity_date as snapshot_date,
    -- the account's usual depth and breadth of use
    cast(events_90d as {{ type_double() }}) / nullif(active_user_days_90d, 0) as events_per_active_user_day_90d,
    cast(events_180d as {{ type_double() }}) / nullif(active_user_days_180d, 0) as events_per_active_user_day_180d,
    cast(events_365d as {{ type_double() }}) / nullif(active_user_days_365d, 0) as events_per_active_user_day_365d,
    cast(advanced_events_180d as {{ type_double() }}) / nullif(events_180d, 0) as advanced_feature_share_180d,
    cast(advanced_events_365d as {{ type_double() }}) / nullif(events_365d, 0) as advanced_feature_share_365d,
    daily_active_users_180d / nullif(monthly_active_users_180d, 0) as daily_to_monthly_active_users_180d,
    -- recent change against the account's own level
    case when days_180d >= 180
        then daily_active_users_30d / nullif(daily_active_users_180d, 0) - 1 end as daily_active_users_30d_vs_180d,
    cast(export_events_7d as {{ type_double() }}) / nullif(events_7d, 0) as export_share_7d,
    cast(export_events_30d as {{ type_double() }}) / nullif(events_30d, 0)
        - cast(export_events_180d as {{ type_double() }}) / nullif(events_180d, 0) as export_share_30d_vs_180d,
    -- support and payments
    cast(high_priority_tickets_180d as {{ type_double() }}) / nullif(tickets_180d, 0)
        as high_priority_ticket_share_180d,
    cast(csat_bad_90d as {{ type_double() }}) / nullif(csat_good_90d + csat_bad_90d, 0) as csat_bad_share_90d,
    case when has_billing_customer then cast(payment_failures_180d as {{ type_double() }}) end
        as payment_failures_180d,
    -- champion history (NULL for every account when the CRM names no champion at all)
    case when crm.names_champions then cast(days_without_champion_180d as {{ type_double() }}) end
        as days_without_champion_180d,
    case when crm.names_champions then cast(champion_changes_180d as {{ type_double() }}) end
        as champion_changes_180d,
    case when crm.names_champions
        then cast(case when most_champions_180d > 0 and champions_known = 0 then 1 else 0 end as {{ type_double() }})
        end as champion_lost_180d,
    cast({{ dbt.datediff('champion_last_active_date', 'activity_date', 'day') }} as {{ type_double() }})
        as days_since_champion_active
from windows
cross join crm
{% if start_expr %}where activity_date >= {{ start_expr }}{% endif %}
