{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot companies in the shape of stg_salesforce__accounts (same columns and types).
with source as (
    {{ select_source('raw_hubspot', 'companies') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as account_id,
        name as account_name,
        case lifecyclestage
            when 'customer' then 'Customer'
            when 'evangelist' then 'Customer'
            when 'other' then 'Former Customer'
            else 'Prospect'
        end as account_type,
        lifecyclestage in ('customer', 'evangelist') as is_customer,
        coalesce(lifecyclestage = 'other', false) as is_former_customer,
        website,
        {{ domain_of('coalesce(domain, website)') }} as website_domain,
        industry,
        cast(numberofemployees as integer) as employee_count,
        cast(annualrevenue as {{ type_double() }}) as annual_revenue,
        country as billing_country,
        hubspot_owner_id as account_owner_user_id,
        customer_success_manager as csm_user_id,
        segment,
        nullif(trim(product_workspace_id), '') as product_workspace_id,
        customer_since as customer_since_date,
        contract_end_date,
        cast(arr as {{ type_double() }}) as crm_arr,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as last_modified_at,
        {{ to_utc('updated_at') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(archived, false)
)

select * from renamed
