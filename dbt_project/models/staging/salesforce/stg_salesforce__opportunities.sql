{{ config(enabled=var('crm', 'salesforce') == 'salesforce') }}
with source as (
    {{ select_source('raw_salesforce', 'opportunity') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as opportunity_id,
        account_id,
        name as opportunity_name,
        type as opportunity_type,
        stage_name,
        cast(amount as {{ type_double() }}) as amount,
        close_date,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        owner_id as owner_user_id,
        {{ to_utc('created_date') }} as created_at,
        {{ to_utc('last_modified_date') }} as last_modified_at,
        {{ to_utc('system_modstamp') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(is_deleted, false)
)

select * from renamed
