{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where not {{ is_regular_observation_day('snapshot_date') }}{% endif %}"
    )
}}

-- Per account per observation day of the churn model (ml_account_snapshots: one day in var
-- ml_observation_every_days, and the as-of day), its only reader: how the account behaves against
-- its own longer history. The sums run over every day; only the observation days are kept (at L a
-- seventh of the rows: the full build 16 s -> 8 s, and the snapshots' daily read of it 1.6 s -> ~0.2 s).
-- The pre-hook drops the previous as-of day when it was no regular observation day.
-- A customer's usual level is measured over long windows (90, 180 and 365 days, which average out
-- the day-to-day noise of a few users), its recent change against that level, and the history of its
-- champion, support and payments. Every measure reads only that day and the days before it. A sum
-- over the last N days is the day's running total minus the one N days before, both from
-- int_account_running_totals (one row per customer day, numbered, so N rows back is N days back):
-- a daily build reads the new days and five earlier rows each, not a year of activity. Event
-- categories come from var event_taxonomy through account_daily_activity. NULL where the input does
-- not exist (no events, no rated tickets, no billing customer, no champion data in the CRM at all).
{% set start_expr = incremental_start_literal('snapshot_date') if is_incremental() else none %}
{% set spans = [7, 30, 90, 180, 365] %}
{#- (running total, days, name): the measure's sum over the account's last `days` days -#}
{% set sums = [
    ('event_count', 7, 'events_7d'),
    ('event_count', 30, 'events_30d'),
    ('event_count', 90, 'events_90d'),
    ('event_count', 180, 'events_180d'),
    ('event_count', 365, 'events_365d'),
    ('active_users', 30, 'active_user_days_30d'),
    ('active_users', 90, 'active_user_days_90d'),
    ('active_users', 180, 'active_user_days_180d'),
    ('active_users', 365, 'active_user_days_365d'),
    ('active_users_30d', 180, 'monthly_active_user_days_180d'),
    ('advanced_event_count', 180, 'advanced_events_180d'),
    ('advanced_event_count', 365, 'advanced_events_365d'),
    ('export_event_count', 7, 'export_events_7d'),
    ('export_event_count', 30, 'export_events_30d'),
    ('export_event_count', 180, 'export_events_180d'),
    ('tickets_opened', 180, 'tickets_180d'),
    ('high_priority_tickets_opened', 180, 'high_priority_tickets_180d'),
    ('csat_good', 90, 'csat_good_90d'),
    ('csat_bad', 90, 'csat_bad_90d'),
    ('payment_failures', 180, 'payment_failures_180d'),
    ('days_without_champion', 180, 'days_without_champion_180d'),
    ('champion_changes', 180, 'champion_changes_180d')
] %}

with {{ rows_back_ctes(ref('int_account_running_totals'), start_expr, spans) }}

clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

windows as (
    select
        today.account_id,
        today.activity_date,
        today.has_billing_customer,
        today.champions_known,
        {{ window_days(30) }} as days_30d,
        {{ window_days(180) }} as days_180d,
        {% for column, days, name in sums -%}
        today.total_{{ column }} - coalesce({{ row_back('total_' ~ column, days, start_expr) }}, 0) as {{ name }},
        {% endfor -%}
        case when today.champion_last_active_day_number > today.day_number - 180
            then today.champion_last_active_date end as champion_last_active_date
    from today
    {{ rows_back_joins(start_expr, spans) }}
),

averages as (
    select
        *,
        cast(active_user_days_30d as {{ type_double() }}) / days_30d as daily_active_users_30d,
        cast(active_user_days_180d as {{ type_double() }}) / days_180d as daily_active_users_180d,
        cast(monthly_active_user_days_180d as {{ type_double() }}) / days_180d as monthly_active_users_180d,
        -- did the account have a champion on any of the last 180 days?
        days_180d - days_without_champion_180d > 0 as had_champion_180d
    from windows
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
        then cast(case when had_champion_180d and champions_known = 0 then 1 else 0 end as {{ type_double() }})
        end as champion_lost_180d,
    cast({{ dbt.datediff('champion_last_active_date', 'activity_date', 'day') }} as {{ type_double() }})
        as days_since_champion_active
from averages
cross join crm
where {{ is_observation_day('activity_date', '(select as_of_date from clock)') }}
