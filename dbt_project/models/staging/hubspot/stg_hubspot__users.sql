{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot owners in the shape of stg_salesforce__users: the department is the owner's primary team;
-- a deactivated user's owner is archived (kept, as inactive, like a deactivated Salesforce user).
with source as (
    {{ select_source('raw_hubspot', 'owners') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as user_id,
        nullif(trim(concat_ws(' ', first_name, last_name)), '') as user_name,
        lower(trim(email)) as email,
        cast(null as {{ dbt.type_string() }}) as title,
        {{ json_text('teams', [0, 'name']) }} as department,
        not coalesce(archived, false) as is_active,
        cast(null as {{ dbt.type_string() }}) as manager_user_id,
        {{ to_utc('updated_at') }} as system_modstamp_at
    from deduped
    where row_num = 1
)

select * from renamed
