{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Per account per day: every measure the health score and the ML features read, each computed
-- only from that day and the days before it (sums over the last N days, from the running totals),
-- so a row for day d is what one could have known at the end of day d. A measure is NULL where its
-- input does not exist (no product workspace, no support organization, no billing customer,
-- no ratings): the score then re-weights the other inputs instead of counting it as zero. The
-- relationship measures are NULL for every account when the CRM names no champion at all (the
-- Salesforce source switched off, its Contacts empty, or Is_Champion__c never used): a company
-- without that data is not scored 0 on the relationship component.
{% set start_expr = incremental_start_literal('snapshot_date') if is_incremental() else none %}
{% set spans = [30, 90, 180] %}
{#- (running total, days, name): the measure's sum over the account's last `days` days, from
    int_account_running_totals (the day's total minus the one `days` back; none: the history is
    shorter and the window holds all of it), so a daily build reads a few rows per account -#}
{% set sums = [
    ('active_users', 30, 'active_user_days_30d'),
    ('event_count', 30, 'events_30d'),
    ('event_count', 90, 'events_90d'),
    ('advanced_event_count', 30, 'advanced_events_30d'),
    ('export_event_count', 30, 'export_events_30d'),
    ('user_invite_count', 30, 'user_invites_30d'),
    ('users_with_email', 30, 'users_with_email_30d'),
    ('champion_active_days', 30, 'champion_active_days_30d'),
    ('tickets_opened', 90, 'tickets_90d'),
    ('high_priority_tickets_opened', 90, 'high_priority_tickets_90d'),
    ('feature_request_tickets_opened', 90, 'feature_request_tickets_90d'),
    ('billing_tickets_opened', 90, 'billing_tickets_90d'),
    ('cancellation_tickets_opened', 90, 'cancellation_tickets_90d'),
    ('payment_failures', 90, 'payment_failures_90d'),
    ('csat_good', 180, 'csat_good_180d'),
    ('csat_bad', 180, 'csat_bad_180d')
] %}

with {{ rows_back_ctes(ref('int_account_running_totals'), start_expr, spans) }}

activity as (
    select * from {{ ref('account_daily_activity') }}
    {% if start_expr %}where activity_date >= {{ start_expr }}{% endif %}
),

windows as (
    select
        activity.account_id,
        activity.activity_date,
        activity.segment,
        activity.has_product_workspace,
        activity.has_support_organization,
        activity.has_billing_customer,
        activity.seats,
        activity.arr,
        activity.active_users_7d,
        activity.active_users_30d,
        activity.event_types_30d,
        activity.open_tickets,
        activity.overdue_invoices,
        activity.notice_given,
        activity.champions_known,
        activity.champions_flagged_left,
        today.first_activity_date,
        {% for column, days, name in sums -%}
        cast(today.total_{{ column }} - coalesce({{ row_back('total_' ~ column, days, start_expr) }}, 0)
            as {{ dbt.type_bigint() }}) as {{ name }},
        {% endfor -%}
        cast(today.total_active_users - coalesce({{ row_back('total_active_users', 30, start_expr) }}, 0)
            as {{ type_double() }}) / {{ window_days(30) }} as avg_daily_active_users_30d,
        {{ row_back('active_users_30d', 90, start_expr) }} as active_users_30d_90d_ago,
        {{ row_back('arr', 90, start_expr) }} as arr_90d_ago
    from today
    inner join activity
        on today.account_id = activity.account_id and today.activity_date = activity.activity_date
    {{ rows_back_joins(start_expr, spans) }}
),

-- Is there any champion data in the CRM at all (one row, cross-joined)?
crm as (
    select count(*) > 0 as names_champions from {{ ref('int_contacts__champions') }}
),

metrics as (
    select
        {{ dbt.concat(['windows.account_id', "'|'", 'cast(windows.activity_date as ' ~ dbt.type_string() ~ ')']) }}
            as account_day_id,
        windows.account_id,
        windows.activity_date as snapshot_date,
        segment,
        seats,
        arr,
        arr_90d_ago,
        active_users_7d,
        active_users_30d,
        active_users_30d_90d_ago,
        avg_daily_active_users_30d,
        events_30d,
        events_90d,
        event_types_30d,
        advanced_events_30d,
        export_events_30d,
        user_invites_30d,
        tickets_90d,
        feature_request_tickets_90d,
        billing_tickets_90d,
        cancellation_tickets_90d,
        csat_good_180d,
        csat_bad_180d,
        cast({{ dbt.datediff('windows.first_activity_date', 'windows.activity_date', 'day') }} + 1
            as {{ dbt.type_bigint() }}) as days_in_history,
        -- usage
        case when has_product_workspace and seats > 0
            then avg_daily_active_users_30d / seats end as daily_active_seat_share,
        case when has_product_workspace and seats > 0
            then cast(active_users_30d as {{ type_double() }}) / seats end as monthly_active_seat_share,
        -- adoption (no events at all in 30 days is no adoption, not unknown)
        case when has_product_workspace
            then coalesce(cast(advanced_events_30d as {{ type_double() }}) / nullif(events_30d, 0), 0)
            end as advanced_feature_share,
        case when has_product_workspace
            then coalesce(cast(events_30d as {{ type_double() }}) / nullif(active_user_days_30d, 0), 0)
            end as events_per_active_user_day,
        -- support
        case when has_support_organization then cast(open_tickets as {{ type_double() }}) end as open_tickets,
        case when has_support_organization
            then cast(high_priority_tickets_90d as {{ type_double() }}) end as high_priority_tickets_90d,
        case when csat_good_180d + csat_bad_180d > 0
            then cast(csat_bad_180d as {{ type_double() }}) / (csat_good_180d + csat_bad_180d)
            end as csat_bad_share_180d,
        -- billing
        case when has_billing_customer
            then cast(payment_failures_90d as {{ type_double() }}) end as payment_failures_90d,
        case when has_billing_customer then cast(overdue_invoices as {{ type_double() }}) end as overdue_invoices,
        -- the customer's decision, not a health measure (no component reads it)
        cast(case when has_billing_customer then case when notice_given then 1 else 0 end end as {{ type_double() }})
            as cancellation_notice,
        -- relationship
        cast(case when crm.names_champions then case when champions_known > 0 then 1 else 0 end end
            as {{ type_double() }}) as champion_present,
        case when crm.names_champions and champions_known > 0 and users_with_email_30d > 0
            then cast(champion_active_days_30d as {{ type_double() }}) end as champion_active_days_30d
    from windows
    cross join crm
)

select * from metrics
