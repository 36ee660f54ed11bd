{{ config(enabled=var('crm', 'salesforce') == 'salesforce') }}
with source as (
    {{ select_source('raw_salesforce', 'user') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as user_id,
        name as user_name,
        lower(trim(email)) as email,
        title,
        department,
        coalesce(is_active, false) as is_active,
        manager_id as manager_user_id,
        {{ to_utc('system_modstamp') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(is_deleted, false)
)

select * from renamed
