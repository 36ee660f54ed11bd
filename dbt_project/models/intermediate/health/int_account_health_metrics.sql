{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Per account per day: every measure the health score and the ML features read, each computed
-- only from that day and the days before it (trailing windows over the daily activity), so a
-- row for day d is what one could have known at the end of day d. A measure is NULL where its
-- input does not exist (no product workspace, no support organization, no billing customer,
-- no ratings): the score then re-weights the other inputs instead of counting it as zero. The
-- relationship measures are NULL for every account when the CRM names no champion at all (the
-- Salesforce source switched off, its Contacts empty, or Is_Champion__c never used): a company
-- without that data is not scored 0 on the relationship component.
{% set start_expr = incremental_start_literal('snapshot_date') if is_incremental() else none %}
{% set w30 = 'partition by account_id order by activity_date rows between 29 preceding and current row' %}
{% set w90 = 'partition by account_id order by activity_date rows between 89 preceding and current row' %}
{% set w180 = 'partition by account_id order by activity_date rows between 179 preceding and current row' %}

{% set csat_180d -%}
        cast(sum(csat_good) over ({{ w180 }}) as {{ dbt.type_bigint() }}) as csat_good_180d,
        cast(sum(csat_bad) over ({{ w180 }}) as {{ dbt.type_bigint() }}) as csat_bad_180d
{%- endset %}

-- An incremental run reads only the days its windows reach back to: 90 days for the 30- and
-- 90-day measures, and apart from them 180 days for the two 180-day ones, so that the many short
-- windows are not computed over half a year of rows. A full build computes all in one pass.
with activity as (
    select * from {{ ref('account_daily_activity') }}
    {% if start_expr %}where activity_date >= {{ add_days(start_expr, -90) }}{% endif %}
),

{% if start_expr %}
csat_windows as (
    select
        account_id,
        activity_date,
        {{ csat_180d }}
    from {{ ref('account_daily_activity') }}
    where activity_date >= {{ add_days(start_expr, -180) }}
),
{% endif %}

windows as (
    select
        account_id,
        activity_date,
        segment,
        has_product_workspace,
        has_support_organization,
        has_billing_customer,
        seats,
        arr,
        active_users_7d,
        active_users_30d,
        event_types_30d,
        open_tickets,
        overdue_invoices,
        notice_given,
        champions_known,
        champions_flagged_left,
        avg(active_users) over ({{ w30 }}) as avg_daily_active_users_30d,
        cast(sum(active_users) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as active_user_days_30d,
        cast(sum(event_count) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as events_30d,
        cast(sum(event_count) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as events_90d,
        cast(sum(advanced_event_count) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as advanced_events_30d,
        cast(sum(export_event_count) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as export_events_30d,
        cast(sum(user_invite_count) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as user_invites_30d,
        cast(sum(users_with_email) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as users_with_email_30d,
        cast(sum(case when champions_active > 0 then 1 else 0 end) over ({{ w30 }}) as {{ dbt.type_bigint() }}) as champion_active_days_30d,
        cast(sum(tickets_opened) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as tickets_90d,
        cast(sum(high_priority_tickets_opened) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as high_priority_tickets_90d,
        cast(sum(feature_request_tickets_opened) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as feature_request_tickets_90d,
        cast(sum(billing_tickets_opened) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as billing_tickets_90d,
        cast(sum(cancellation_tickets_opened) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as cancellation_tickets_90d,
        cast(sum(payment_failures) over ({{ w90 }}) as {{ dbt.type_bigint() }}) as payment_failures_90d,
        lag(active_users_30d, 90) over (partition by account_id order by activity_date) as active_users_30d_90d_ago,
        {% if not start_expr %}{{ csat_180d }},{% endif %}
        lag(arr, 90) over (partition by account_id order by activity_date) as arr_90d_ago
    from activity
),

-- Is there any champion data in the CRM at all (one row, cross-joined)?
crm as (
    select count(*) > 0 as names_champions from {{ ref('int_contacts__champions') }}
),

-- Days in history count from the account's first day in the whole table, not in the window an
-- incremental run reads (its days are consecutive: one row per customer day).
first_days as (
    select account_id, min(activity_date) as first_activity_date
    from {{ ref('account_daily_activity') }}
    group by account_id
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
        cast({{ dbt.datediff('first_days.first_activity_date', 'windows.activity_date', 'day') }} + 1
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
    {% if start_expr %}
    inner join csat_windows
        on windows.account_id = csat_windows.account_id and windows.activity_date = csat_windows.activity_date
    {% endif %}
    inner join first_days on windows.account_id = first_days.account_id
    cross join crm
    {% if start_expr %}where windows.activity_date >= {{ start_expr }}{% endif %}
)

select * from metrics
