with source as (
    {{ select_source('raw_stripe', 'customers') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as stripe_customer_id,
        name as customer_name,
        lower(trim(email)) as email,
        {{ domain_of('email') }} as email_domain,
        nullif(trim(metadata__salesforce_account_id), '') as salesforce_account_id,
        nullif(trim(metadata__hubspot_company_id), '') as hubspot_company_id,
        coalesce(delinquent, false) as is_delinquent,
        {{ unix_to_utc('created') }} as created_at
    from deduped
    where row_num = 1
        and not coalesce(deleted, false)
)

select * from renamed
