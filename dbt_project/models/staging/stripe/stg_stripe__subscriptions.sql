with source as (
    {{ select_source('raw_stripe', 'subscriptions') }}
),

items as (
    {{ select_source('raw_stripe', 'subscriptions', child='items__data') }}
),

-- Seats are the quantity of the subscription's first item (the plan's seat price; Stripe lists items
-- in the order they were added), as in int_billing__subscription_versions: add-on items are billed,
-- so they count in the annual amount, but they are not seats. Each item is billed by its own price's
-- interval and interval count (every 6 months = twice a year).
subscription_items as (
    select
        _dlt_parent_id,
        max(case when _dlt_list_idx = 0 then quantity end) as seats,
        max(case when _dlt_list_idx = 0 then price__product end) as product,
        max(case when _dlt_list_idx = 0 then price__recurring__interval end) as billing_interval,
        max(case when _dlt_list_idx = 0 then coalesce(price__recurring__interval_count, 1) end)
            as billing_interval_count,
        -- API 2025-03-31 bills each item for its own period (the subscription has none): the first item's.
        max(case when _dlt_list_idx = 0 then current_period_start end) as item_period_start,
        max(case when _dlt_list_idx = 0 then current_period_end end) as item_period_end,
        sum(quantity * price__unit_amount) as amount_per_interval_cents,
        sum(quantity * price__unit_amount
            * {{ periods_per_year('price__recurring__interval', 'price__recurring__interval_count') }}) as annual_amount_cents
    from items
    group by _dlt_parent_id
),

deduped as (
    select
        *,
        row_number() over (partition by id order by _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        deduped.id as subscription_id,
        deduped.customer as stripe_customer_id,
        deduped.status,
        deduped.collection_method,
        subscription_items.product,
        subscription_items.billing_interval,
        subscription_items.billing_interval_count,
        cast(subscription_items.seats as integer) as seats,
        cast(subscription_items.amount_per_interval_cents as {{ type_double() }}) / 100 as amount_per_interval,
        cast(subscription_items.annual_amount_cents as {{ type_double() }}) / 100 as annual_amount,
        cast(deduped.metadata__contract_term_months as integer) as contract_term_months,
        coalesce(deduped.cancel_at_period_end, false) as cancel_at_period_end,
        {{ unix_to_utc('coalesce(deduped.current_period_start, subscription_items.item_period_start)') }}
            as current_period_start_at,
        {{ unix_to_utc('coalesce(deduped.current_period_end, subscription_items.item_period_end)') }}
            as current_period_end_at,
        {{ unix_to_utc('deduped.cancel_at') }} as cancel_at,
        {{ unix_to_utc('deduped.canceled_at') }} as canceled_at,
        {{ unix_to_utc('deduped.ended_at') }} as ended_at,
        {{ unix_to_utc('deduped.start_date') }} as started_at,
        {{ unix_to_utc('deduped.created') }} as created_at
    from deduped
    left join subscription_items on deduped._dlt_id = subscription_items._dlt_parent_id
    where deduped.row_num = 1
)

select * from renamed
