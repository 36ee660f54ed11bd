{{
    config(
        materialized='incremental',
        unique_key='subscription_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- The state of each subscription over time (seats, price, plan, term, status, notice), one row per
-- change, from the subscription objects Stripe puts in its events. This is what makes seats, ARR,
-- the billing interval, the contract term and "notice given" known as of any past day, not only today.
-- Seats are the quantity of the subscription's first item (the plan's seat price; Stripe lists items in
-- the order they were added), as in stg_stripe__subscriptions; add-on items count in ARR, not in seats.
-- Incremental: a daily build reads the JSON of the events of the last few days only (var
-- incremental_lookback_days) and rebuilds the versions of the subscriptions they changed, from
-- those events and the versions already built before them (numbers and validity run over both).
{% set start_expr = incremental_start_literal('valid_from') if is_incremental() else none %}

with subscription_events as (
    select
        event_id,
        created_at,
        object_id as subscription_id,
        stripe_customer_id,
        event_data,
        {{ json_text('event_data', ['object', 'status']) }} as status,
        {{ json_text('event_data', ['object', 'cancel_at_period_end']) }} as cancel_at_period_end_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'quantity']) }} as seats_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'price', 'unit_amount']) }} as unit_amount_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'price', 'recurring', 'interval']) }}
            as billing_interval,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'price', 'recurring', 'interval_count']) }}
            as billing_interval_count_text,
        {{ json_text('event_data', ['object', 'metadata', 'contract_term_months']) }} as contract_term_months_text,
        {{ json_text('event_data', ['object', 'start_date']) }} as start_date_text,
        -- on the subscription before API 2025-03-31, on its items since
        coalesce(
            {{ json_text('event_data', ['object', 'current_period_end']) }},
            {{ json_text('event_data', ['object', 'items', 'data', 0, 'current_period_end']) }}
        ) as current_period_end_text
    from {{ ref('stg_stripe__events') }}
    where object_type = 'subscription'
    {% if start_expr %}and created_unix_seconds >= {{ unix_seconds(start_expr) }}{% endif %}
),

items as (
    select event_id, {{ json_array_elements('event_data', ['object', 'items', 'data']) }} as item
    from subscription_events
),

-- What every item (seats and add-ons) bills a year, each by its own price's interval.
annual_amounts as (
    select
        event_id,
        sum(
            cast({{ json_text('item', ['quantity']) }} as {{ type_double() }})
            * cast({{ json_text('item', ['price', 'unit_amount']) }} as {{ type_double() }}) / 100
            * {{ periods_per_year(json_text('item', ['price', 'recurring', 'interval']),
                'cast(' ~ json_text('item', ['price', 'recurring', 'interval_count']) ~ ' as integer)') }}
        ) as annual_amount
    from items
    group by event_id
),

parsed as (
    select
        subscription_events.event_id,
        subscription_events.subscription_id,
        subscription_events.stripe_customer_id,
        subscription_events.created_at as valid_from,
        subscription_events.status,
        lower(subscription_events.cancel_at_period_end_text) = 'true' as cancel_at_period_end,
        cast(subscription_events.seats_text as integer) as seats,
        cast(subscription_events.unit_amount_text as {{ type_double() }}) / 100 as unit_amount,
        subscription_events.billing_interval,
        coalesce(cast(subscription_events.billing_interval_count_text as integer), 1) as billing_interval_count,
        cast(subscription_events.contract_term_months_text as integer) as contract_term_months,
        {{ unix_to_utc('cast(subscription_events.start_date_text as ' ~ dbt.type_bigint() ~ ')') }} as started_at,
        {{ unix_to_utc('cast(subscription_events.current_period_end_text as ' ~ dbt.type_bigint() ~ ')') }}
            as current_period_end_at,
        case when subscription_events.status in ('active', 'past_due', 'trialing')
            then annual_amounts.annual_amount else 0 end as arr
    from subscription_events
    left join annual_amounts on subscription_events.event_id = annual_amounts.event_id
),

versions as (
    select * from parsed
    {% if start_expr %}
    union all
    -- the versions built before the rebuilt days, of the subscriptions the new events changed
    select
        subscription_version_id,
        subscription_id,
        stripe_customer_id,
        valid_from,
        status,
        cancel_at_period_end,
        seats,
        unit_amount,
        billing_interval,
        billing_interval_count,
        contract_term_months,
        started_at,
        current_period_end_at,
        arr
    from {{ this }}
    where valid_from < {{ start_expr }} and subscription_id in (select subscription_id from parsed)
    {% endif %}
),

with_validity as (
    select
        *,
        row_number() over (partition by subscription_id order by valid_from, event_id) as version_number,
        lead(valid_from) over (partition by subscription_id order by valid_from, event_id) as valid_to
    from versions
)

select
    event_id as subscription_version_id,
    subscription_id,
    stripe_customer_id,
    version_number,
    valid_from,
    valid_to,
    status,
    cancel_at_period_end,
    seats,
    unit_amount,
    billing_interval,
    billing_interval_count,
    contract_term_months,
    started_at,
    current_period_end_at,
    arr
from with_validity
