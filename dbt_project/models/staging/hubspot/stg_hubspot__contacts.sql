{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot contacts in the shape of stg_salesforce__contacts; the account is the primary company.
with source as (
    {{ select_source('raw_hubspot', 'contacts') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as contact_id,
        associatedcompanyid as account_id,
        firstname as first_name,
        lastname as last_name,
        lower(trim(email)) as email,
        {{ domain_of('email') }} as email_domain,
        jobtitle as title,
        coalesce(is_champion, false) as is_champion,
        coalesce(left_company, false) as has_left_company,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as last_modified_at,
        {{ to_utc('updated_at') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(archived, false)
)

select * from renamed
