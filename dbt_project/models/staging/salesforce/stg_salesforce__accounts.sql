{{ config(enabled=var('crm', 'salesforce') == 'salesforce') }}
with source as (
    {{ select_source('raw_salesforce', 'account') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as account_id,
        name as account_name,
        type as account_type,
        type = 'Customer' as is_customer,
        type = 'Former Customer' as is_former_customer,
        website,
        {{ domain_of('website') }} as website_domain,
        industry,
        cast(number_of_employees as integer) as employee_count,
        cast(annual_revenue as {{ type_double() }}) as annual_revenue,
        billing_country,
        owner_id as account_owner_user_id,
        csm__c as csm_user_id,
        segment__c as segment,
        nullif(trim(product_account_id__c), '') as product_workspace_id,
        customer_since__c as customer_since_date,
        contract_end_date__c as contract_end_date,
        cast(arr__c as {{ type_double() }}) as crm_arr,
        {{ to_utc('created_date') }} as created_at,
        {{ to_utc('last_modified_date') }} as last_modified_at,
        {{ to_utc('system_modstamp') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(is_deleted, false)
)

select * from renamed
