with source as (
    {{ select_source('raw_zendesk', 'users') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as zendesk_user_id,
        name as user_name,
        lower(trim(email)) as email,
        {{ domain_of('email') }} as email_domain,
        role,
        organization_id,
        coalesce(active, true) as is_active,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
    from deduped
    where row_num = 1
)

select * from renamed
