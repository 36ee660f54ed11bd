{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- Per account per customer day: usage, support and billing facts of that day, and the state at
-- the end of it (seats, ARR, open tickets, overdue invoices, notice given). Incremental runs
-- rebuild the last few days (var incremental_lookback_days) and everything after them.
{% set start_expr = incremental_start_literal('activity_date') if is_incremental() else none %}
{#- The user-days and event-type days an incremental build needs (the 31 days before its first
    rebuilt day on) come from int_product__user_days and int_product__event_type_days when they keep
    them all (macros/product_usage.sql: the last 45 days; after a longer pause they are aggregated
    from the events, as in a full build). -#}
{#- var event_taxonomy is checked on every build, also when the counts per kind come from that table -#}
{% do event_taxonomy() %}
{% set recent_user_days = ref('int_product__user_days') %}
{% set recent_type_days = ref('int_product__event_type_days') %}
{% set recent_from = add_days(start_expr, -31) if start_expr else none %}
{% set from_recent = namespace(value=false) %}
{% if start_expr and execute %}
    {% set covered = run_query(
        "select coalesce((select min(activity_date) from " ~ recent_user_days ~ ") <= " ~ recent_from
        ~ " and (select min(activity_date) from " ~ recent_type_days ~ ") <= " ~ recent_from ~ ", false)") %}
    {% set from_recent.value = covered.columns[0].values()[0] %}
{% endif %}
{% set recent_events = "event_day_key >= cast(" ~ recent_from ~ " as " ~ dbt.type_string() ~ ")" if start_expr else "true" %}

with spine as (
    select * from {{ ref('int_account_days') }}
    {% if start_expr %}where activity_date >= {{ start_expr }}{% endif %}
),

links as (
    select account_id, workspace_id, zendesk_organization_id, stripe_customer_id
    from {{ ref('int_accounts_joined_across_systems') }}
),

spine_links as (
    select
        spine.account_day_id,
        spine.account_id,
        spine.activity_date,
        spine.segment,
        links.workspace_id,
        links.zendesk_organization_id,
        links.stripe_customer_id
    from spine
    left join links on spine.account_id = links.account_id
),

-- Usage. 7- and 30-day active users count distinct people, so they are built from user-days: a
-- user active on day d counts for days d .. d+29, stopping early where their next active day
-- starts a new span. Summing +1 / -1 at span edges gives the distinct count per day without a
-- 30-day self-join. Only the 30 days before the first rebuilt day are needed.
-- Activity per product user per day (macros/product_usage.sql): a full build aggregates it from
-- the events (materializing this grain for the whole history costs more than the whole computation,
-- 7-8 M rows on M); a daily build reads the recent days int_product__user_days keeps.
-- Read from the table, the user-days are named as a subquery in each of their three readers rather
-- than as a shared CTE: the engine would copy a CTE read more than once (3.7 M rows of text at L,
-- 2.2 s), where reading the table three times costs a fraction of that.
{% if from_recent.value %}
{% set user_days = "(select * from " ~ recent_user_days ~ " where activity_date >= " ~ recent_from ~ ") as user_days" %}
{% else %}
{% set user_days = "user_days" %}
user_days as (
    {{ product_user_days(ref('stg_product__events'), recent_events) }}
),
{% endif %}

user_spans as (
    select
        workspace_id,
        activity_date,
        {{ dbt.datediff('lag(activity_date) over (partition by workspace_id, product_user_id order by activity_date)',
                        'activity_date', 'day') }} as days_since_previous,
        {{ dbt.datediff('activity_date',
                        'lead(activity_date) over (partition by workspace_id, product_user_id order by activity_date)',
                        'day') }} as days_to_next
    from {{ user_days }}
),

-- The same spans per event type: the distinct event types a workspace used in the last 30 days
-- (breadth of use), whatever the company names its events.
type_days as (
    {% if from_recent.value %}
    select * from {{ recent_type_days }} where activity_date >= {{ recent_from }}
    {% else %}
    {{ product_event_type_days(ref('stg_product__events'), recent_events) }}
    {% endif %}
),

type_spans as (
    select
        workspace_id,
        activity_date,
        {{ dbt.datediff('lag(activity_date) over (partition by workspace_id, event_name order by activity_date)',
                        'activity_date', 'day') }} as days_since_previous,
        {{ dbt.datediff('activity_date',
                        'lead(activity_date) over (partition by workspace_id, event_name order by activity_date)',
                        'day') }} as days_to_next
    from type_days
),

-- Only where a span starts (no activity in the window before) or ends (none in the window after)
-- is there an edge: +1 on the first day, -1 on the day after the window of the last day.
span_edges as (
    select
        workspace_id,
        activity_date as edge_date,
        case when days_since_previous is null or days_since_previous >= 30 then 1 else 0 end as active_30d_delta,
        case when days_since_previous is null or days_since_previous >= 7 then 1 else 0 end as active_7d_delta,
        0 as types_30d_delta
    from user_spans
    where days_since_previous is null or days_since_previous >= 7
    union all
    select workspace_id, {{ add_days('activity_date', 30) }}, -1, 0, 0
    from user_spans
    where days_to_next is null or days_to_next >= 30
    union all
    select workspace_id, {{ add_days('activity_date', 7) }}, 0, -1, 0
    from user_spans
    where days_to_next is null or days_to_next >= 7
    union all
    select workspace_id, activity_date, 0, 0, 1
    from type_spans
    where days_since_previous is null or days_since_previous >= 30
    union all
    select workspace_id, {{ add_days('activity_date', 30) }}, 0, 0, -1
    from type_spans
    where days_to_next is null or days_to_next >= 30
),

edge_days as (
    select
        workspace_id,
        edge_date,
        sum(active_30d_delta) as active_30d_delta,
        sum(active_7d_delta) as active_7d_delta,
        sum(types_30d_delta) as types_30d_delta
    from span_edges
    group by workspace_id, edge_date
),

-- Running totals of the span edges, read on every spine day (edges first on the same day).
spine_workspaces as (
    select distinct workspace_id, activity_date
    from spine_links
    where workspace_id is not null
),

timeline as (
    select workspace_id, edge_date as timeline_date, active_30d_delta, active_7d_delta, types_30d_delta,
        0 as is_spine_day
    from edge_days
    union all
    select workspace_id, activity_date, 0, 0, 0, 1
    from spine_workspaces
),

active_counts as (
    select
        workspace_id,
        timeline_date as activity_date,
        is_spine_day,
        sum(active_30d_delta) over (
            partition by workspace_id order by timeline_date, is_spine_day rows unbounded preceding
        ) as active_users_30d,
        sum(active_7d_delta) over (
            partition by workspace_id order by timeline_date, is_spine_day rows unbounded preceding
        ) as active_users_7d,
        sum(types_30d_delta) over (
            partition by workspace_id order by timeline_date, is_spine_day rows unbounded preceding
        ) as event_types_30d
    from timeline
),

usage_days as (
    select
        user_days.workspace_id,
        user_days.activity_date,
        count(*) as active_users,
        sum(session_count) as session_count,
        sum(event_count) as event_count,
        sum(advanced_event_count) as advanced_event_count,
        sum(export_event_count) as export_event_count,
        sum(user_invite_count) as user_invite_count,
        sum(case when emails.user_email is not null then 1 else 0 end) as users_with_email
    from {{ user_days }}
    left join {{ ref('int_product__users') }} as emails
        on user_days.workspace_id = emails.workspace_id and user_days.product_user_id = emails.product_user_id
    -- user_days reaches 31 days further back, for the spans only.
    {% if start_expr %}where user_days.activity_date >= {{ start_expr }}{% endif %}
    group by user_days.workspace_id, user_days.activity_date
),

-- Relationship: is a champion the CRM names using the product (where the workspace shares emails)?
champions as (
    select * from {{ ref('int_contacts__champions') }}
),

champion_emails as (
    select account_id, contact_id, known_since_date, ended_date, email as user_email
    from champions where email is not null
    union
    select account_id, contact_id, known_since_date, ended_date, product_email
    from champions where product_email is not null
),

champion_users as (
    select champion_emails.account_id, champion_emails.contact_id, champion_emails.known_since_date,
        champion_emails.ended_date, users.workspace_id, users.product_user_id
    from {{ ref('int_product__users') }} as users
    inner join champion_emails on users.user_email = champion_emails.user_email
),

-- A champion's use counts on the days the CRM named them champion.
champion_usage as (
    select
        champion_users.account_id,
        user_days.activity_date,
        count(distinct champion_users.contact_id) as champions_active
    from {{ user_days }}
    inner join champion_users
        on user_days.workspace_id = champion_users.workspace_id
        and user_days.product_user_id = champion_users.product_user_id
        and user_days.activity_date >= champion_users.known_since_date
        and (champion_users.ended_date is null or user_days.activity_date < champion_users.ended_date)
    {% if start_expr %}where user_days.activity_date >= {{ start_expr }}{% endif %}
    group by champion_users.account_id, user_days.activity_date
),

-- The states of a day (champions here; open tickets, overdue invoices and the subscription below)
-- key on (account_id, activity_date) rather than account_day_id: that text is too long for DuckDB
-- to keep inline, and hashing it for 12 M account-days (L) cost 20-36 s of the full build.
champion_state as (
    select
        spine.account_id,
        spine.activity_date,
        sum(case when champions.left_flagged_date is null or champions.left_flagged_date > spine.activity_date
            then 1 else 0 end) as champions_known,
        sum(case when champions.left_flagged_date <= spine.activity_date then 1 else 0 end) as champions_flagged_left
    from spine
    inner join champions
        on spine.account_id = champions.account_id
        and champions.known_since_date <= spine.activity_date
        and (champions.ended_date is null or champions.ended_date > spine.activity_date)
    group by spine.account_id, spine.activity_date
),

-- Support. The facts of a day (tickets opened, ratings, payment failures) are read from the first
-- rebuilt day on in an incremental build; the state at the end of a day (open tickets, overdue
-- invoices, the subscription) needs the history before it.
tickets as (
    select * from {{ ref('stg_zendesk__tickets') }}
),

ticket_metrics as (
    select ticket_id, min(solved_at) as solved_at from {{ ref('stg_zendesk__ticket_metrics') }} group by ticket_id
),

tickets_opened as (
    select
        organization_id,
        cast(created_at as date) as activity_date,
        count(*) as tickets_opened,
        sum(case when priority in ('high', 'urgent') then 1 else 0 end) as high_priority_tickets_opened,
        sum(case when is_feature_request then 1 else 0 end) as feature_request_tickets_opened,
        sum(case when is_billing then 1 else 0 end) as billing_tickets_opened,
        sum(case when is_cancellation then 1 else 0 end) as cancellation_tickets_opened
    from tickets
    {% if start_expr %}where created_at >= {{ start_expr }}{% endif %}
    group by organization_id, cast(created_at as date)
),

ticket_spans as (
    select
        tickets.organization_id,
        cast(tickets.created_at as date) as opened_date,
        -- A ticket without a solve time that is closed counts as closed at its last update.
        cast(coalesce(ticket_metrics.solved_at, case when not tickets.is_open then tickets.updated_at end) as date)
            as solved_date
    from tickets
    left join ticket_metrics on tickets.ticket_id = ticket_metrics.ticket_id
),

ratings as (
    select
        organization_id,
        cast(created_at as date) as activity_date,
        sum(case when is_good then 1 else 0 end) as csat_good,
        sum(case when is_good then 0 else 1 end) as csat_bad
    from {{ ref('stg_zendesk__satisfaction_ratings') }}
    {% if start_expr %}where created_at >= {{ start_expr }}{% endif %}
    group by organization_id, cast(created_at as date)
),

-- Billing.
payment_failures as (
    select stripe_customer_id, cast(created_at as date) as activity_date, count(*) as payment_failures
    from {{ ref('stg_stripe__events') }}
    where event_type = 'invoice.payment_failed'
    {% if start_expr %}and created_unix_seconds >= {{ unix_seconds(start_expr) }}{% endif %}
    group by stripe_customer_id, cast(created_at as date)
),

invoices as (
    select
        stripe_customer_id,
        amount_due,
        cast(due_at as date) as due_date,
        cast(coalesce(paid_at, voided_at, marked_uncollectible_at) as date) as settled_date,
        cast(marked_uncollectible_at as date) as uncollectible_date
    from {{ ref('stg_stripe__invoices') }}
    where due_at is not null
),

versions as (
    select
        *,
        cast(valid_from as date) as valid_from_date,
        cast(valid_to as date) as valid_to_date
    from {{ ref('int_billing__subscription_versions') }}
),

joined as (
    select
        spine_links.account_day_id,
        spine_links.account_id,
        spine_links.activity_date,
        spine_links.segment,
        spine_links.workspace_id,
        coalesce(usage_days.active_users, 0) as active_users,
        coalesce(active_counts.active_users_7d, 0) as active_users_7d,
        coalesce(active_counts.active_users_30d, 0) as active_users_30d,
        coalesce(active_counts.event_types_30d, 0) as event_types_30d,
        coalesce(usage_days.session_count, 0) as session_count,
        coalesce(usage_days.event_count, 0) as event_count,
        coalesce(usage_days.advanced_event_count, 0) as advanced_event_count,
        coalesce(usage_days.export_event_count, 0) as export_event_count,
        coalesce(usage_days.user_invite_count, 0) as user_invite_count,
        coalesce(usage_days.users_with_email, 0) as users_with_email,
        coalesce(champion_usage.champions_active, 0) as champions_active,
        coalesce(champion_state.champions_known, 0) as champions_known,
        coalesce(champion_state.champions_flagged_left, 0) as champions_flagged_left,
        coalesce(tickets_opened.tickets_opened, 0) as tickets_opened,
        coalesce(tickets_opened.high_priority_tickets_opened, 0) as high_priority_tickets_opened,
        coalesce(tickets_opened.feature_request_tickets_opened, 0) as feature_request_tickets_opened,
        coalesce(tickets_opened.billing_tickets_opened, 0) as billing_tickets_opened,
        coalesce(tickets_opened.cancellation_tickets_opened, 0) as cancellation_tickets_opened,
        coalesce(ratings.csat_good, 0) as csat_good,
        coalesce(ratings.csat_bad, 0) as csat_bad,
        coalesce(payment_failures.payment_failures, 0) as payment_failures,
        spine_links.workspace_id is not null as has_product_workspace,
        spine_links.zendesk_organization_id is not null as has_support_organization,
        spine_links.stripe_customer_id is not null as has_billing_customer
    from spine_links
    left join usage_days
        on spine_links.workspace_id = usage_days.workspace_id
        and spine_links.activity_date = usage_days.activity_date
    left join active_counts
        on spine_links.workspace_id = active_counts.workspace_id
        and spine_links.activity_date = active_counts.activity_date
        and active_counts.is_spine_day = 1
    left join champion_usage
        on spine_links.account_id = champion_usage.account_id
        and spine_links.activity_date = champion_usage.activity_date
    left join champion_state
        on spine_links.account_id = champion_state.account_id
        and spine_links.activity_date = champion_state.activity_date
    left join tickets_opened
        on spine_links.zendesk_organization_id = tickets_opened.organization_id
        and spine_links.activity_date = tickets_opened.activity_date
    left join ratings
        on spine_links.zendesk_organization_id = ratings.organization_id
        and spine_links.activity_date = ratings.activity_date
    left join payment_failures
        on spine_links.stripe_customer_id = payment_failures.stripe_customer_id
        and spine_links.activity_date = payment_failures.activity_date
),

open_tickets as (
    select spine_links.account_id, spine_links.activity_date, count(*) as open_tickets
    from spine_links
    inner join ticket_spans
        on spine_links.zendesk_organization_id = ticket_spans.organization_id
        and ticket_spans.opened_date <= spine_links.activity_date
        and (ticket_spans.solved_date is null or ticket_spans.solved_date > spine_links.activity_date)
    group by spine_links.account_id, spine_links.activity_date
),

overdue as (
    select
        spine_links.account_id,
        spine_links.activity_date,
        count(*) as overdue_invoices,
        sum(invoices.amount_due) as overdue_amount
    from spine_links
    inner join invoices
        on spine_links.stripe_customer_id = invoices.stripe_customer_id
        and invoices.due_date < spine_links.activity_date
        and (invoices.settled_date is null or invoices.settled_date > spine_links.activity_date)
    group by spine_links.account_id, spine_links.activity_date
),

-- The subscription as it stood at the end of the day (the last change on or before it).
billing_state as (
    select
        spine_links.account_id,
        spine_links.activity_date,
        versions.seats,
        versions.arr,
        versions.status as subscription_status,
        versions.cancel_at_period_end
    from spine_links
    inner join versions
        on spine_links.stripe_customer_id = versions.stripe_customer_id
        and versions.valid_from_date <= spine_links.activity_date
        and (versions.valid_to_date is null or versions.valid_to_date > spine_links.activity_date)
)

select
    joined.account_day_id,
    joined.account_id,
    joined.activity_date,
    joined.segment,
    joined.workspace_id,
    cast(joined.active_users as {{ dbt.type_bigint() }}) as active_users,
    cast(joined.active_users_7d as {{ dbt.type_bigint() }}) as active_users_7d,
    cast(joined.active_users_30d as {{ dbt.type_bigint() }}) as active_users_30d,
    cast(joined.event_types_30d as {{ dbt.type_bigint() }}) as event_types_30d,
    cast(joined.session_count as {{ dbt.type_bigint() }}) as session_count,
    cast(joined.event_count as {{ dbt.type_bigint() }}) as event_count,
    cast(joined.advanced_event_count as {{ dbt.type_bigint() }}) as advanced_event_count,
    cast(joined.export_event_count as {{ dbt.type_bigint() }}) as export_event_count,
    cast(joined.user_invite_count as {{ dbt.type_bigint() }}) as user_invite_count,
    cast(joined.users_with_email as {{ dbt.type_bigint() }}) as users_with_email,
    cast(joined.champions_active as {{ dbt.type_bigint() }}) as champions_active,
    cast(joined.champions_known as {{ dbt.type_bigint() }}) as champions_known,
    cast(joined.champions_flagged_left as {{ dbt.type_bigint() }}) as champions_flagged_left,
    cast(joined.tickets_opened as {{ dbt.type_bigint() }}) as tickets_opened,
    cast(joined.high_priority_tickets_opened as {{ dbt.type_bigint() }}) as high_priority_tickets_opened,
    cast(joined.feature_request_tickets_opened as {{ dbt.type_bigint() }}) as feature_request_tickets_opened,
    cast(joined.billing_tickets_opened as {{ dbt.type_bigint() }}) as billing_tickets_opened,
    cast(joined.cancellation_tickets_opened as {{ dbt.type_bigint() }}) as cancellation_tickets_opened,
    cast(coalesce(open_tickets.open_tickets, 0) as {{ dbt.type_bigint() }}) as open_tickets,
    cast(joined.csat_good as {{ dbt.type_bigint() }}) as csat_good,
    cast(joined.csat_bad as {{ dbt.type_bigint() }}) as csat_bad,
    cast(joined.payment_failures as {{ dbt.type_bigint() }}) as payment_failures,
    cast(coalesce(overdue.overdue_invoices, 0) as {{ dbt.type_bigint() }}) as overdue_invoices,
    coalesce(overdue.overdue_amount, 0) as overdue_amount,
    billing_state.seats,
    billing_state.arr,
    billing_state.subscription_status,
    coalesce(billing_state.cancel_at_period_end, false) as notice_given,
    joined.has_product_workspace,
    joined.has_support_organization,
    joined.has_billing_customer
from joined
left join open_tickets
    on joined.account_id = open_tickets.account_id and joined.activity_date = open_tickets.activity_date
left join overdue on joined.account_id = overdue.account_id and joined.activity_date = overdue.activity_date
left join billing_state
    on joined.account_id = billing_state.account_id and joined.activity_date = billing_state.activity_date
