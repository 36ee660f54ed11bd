with source as (
    {{ select_source('raw_stripe', 'invoices') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as invoice_id,
        customer as stripe_customer_id,
        -- API 2025-03-31 moved the subscription under `parent` and dropped `paid`.
        coalesce(subscription, parent__subscription_details__subscription) as subscription_id,
        status,
        billing_reason,
        cast(amount_due as {{ type_double() }}) / 100 as amount_due,
        cast(amount_paid as {{ type_double() }}) / 100 as amount_paid,
        cast(amount_remaining as {{ type_double() }}) / 100 as amount_remaining,
        coalesce(attempt_count, 0) as attempt_count,
        coalesce(paid, status = 'paid', false) as is_paid,
        {{ unix_to_utc('due_date') }} as due_at,
        {{ unix_to_utc('period_start') }} as period_start_at,
        {{ unix_to_utc('period_end') }} as period_end_at,
        {{ unix_to_utc('created') }} as created_at,
        {{ unix_to_utc('status_transitions__finalized_at') }} as finalized_at,
        {{ unix_to_utc('status_transitions__paid_at') }} as paid_at,
        {{ unix_to_utc('status_transitions__marked_uncollectible_at') }} as marked_uncollectible_at,
        {{ unix_to_utc('status_transitions__voided_at') }} as voided_at
    from deduped
    -- Drafts were never sent to the customer.
    where row_num = 1
        and coalesce(status, '') <> 'draft'
)

select * from renamed
