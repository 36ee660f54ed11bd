-- The state of each subscription over time (seats, price, status, notice), one row per change,
-- from the subscription objects Stripe puts in its events. This is what makes seats, ARR and
-- "notice given" known as of any past day, not only today.
with subscription_events as (
    select
        event_id,
        created_at,
        object_id as subscription_id,
        stripe_customer_id,
        {{ json_text('event_data', ['object', 'status']) }} as status,
        {{ json_text('event_data', ['object', 'cancel_at_period_end']) }} as cancel_at_period_end_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'quantity']) }} as seats_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'price', 'unit_amount']) }} as unit_amount_text,
        {{ json_text('event_data', ['object', 'items', 'data', 0, 'price', 'recurring', 'interval']) }}
            as billing_interval,
        {{ json_text('event_data', ['object', 'current_period_end']) }} as current_period_end_text
    from {{ ref('stg_stripe__events') }}
    where object_type = 'subscription'
),

versions as (
    select
        event_id,
        subscription_id,
        stripe_customer_id,
        created_at as valid_from,
        status,
        lower(cancel_at_period_end_text) = 'true' as cancel_at_period_end,
        cast(seats_text as integer) as seats,
        cast(unit_amount_text as {{ type_double() }}) / 100 as unit_amount,
        billing_interval,
        {{ unix_to_utc('cast(current_period_end_text as ' ~ dbt.type_bigint() ~ ')') }} as current_period_end_at,
        row_number() over (partition by subscription_id order by created_at, event_id) as version_number
    from subscription_events
),

with_validity as (
    select
        *,
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
    current_period_end_at,
    case
        when status in ('active', 'past_due', 'trialing')
            then seats * unit_amount * case when billing_interval = 'month' then 12 else 1 end
        else 0
    end as arr
from with_validity
