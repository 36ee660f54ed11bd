with source as (
    {{ select_source('raw_salesforce', 'contact') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as contact_id,
        account_id,
        first_name,
        last_name,
        lower(trim(email)) as email,
        {{ domain_of('email') }} as email_domain,
        title,
        coalesce(is_champion__c, false) as is_champion,
        coalesce(left_company__c, false) as has_left_company,
        {{ to_utc('created_date') }} as created_at,
        {{ to_utc('last_modified_date') }} as last_modified_at,
        {{ to_utc('system_modstamp') }} as system_modstamp_at
    from deduped
    -- Soft-deleted contacts are merged duplicates: they are not people of the account any more.
    where row_num = 1
        and not coalesce(is_deleted, false)
)

select * from renamed
