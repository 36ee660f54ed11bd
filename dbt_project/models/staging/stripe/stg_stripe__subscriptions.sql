with source as (
    {{ select_source('raw_stripe', 'subscriptions') }}
),

items as (
    {{ select_source('raw_stripe', 'subscriptions', child='items__data') }}
),

-- One price per subscription in this business (seat-based plans); summed in case of several.
subscription_items as (
    select
        _dlt_parent_id,
        sum(quantity) as seats,
        max(price__product) as product,
        max(price__recurring__interval) as billing_interval,
        max(coalesce(price__recurring__interval_count, 1)) as billing_interval_count,
        sum(quantity * price__unit_amount) as amount_per_interval_cents
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
        cast(deduped.metadata__contract_term_months as integer) as contract_term_months,
        coalesce(deduped.cancel_at_period_end, false) as cancel_at_period_end,
        {{ unix_to_utc('deduped.current_period_start') }} as current_period_start_at,
        {{ unix_to_utc('deduped.current_period_end') }} as current_period_end_at,
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
