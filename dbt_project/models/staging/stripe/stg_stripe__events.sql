with source as (
    {{ select_source('raw_stripe', 'events') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as event_id,
        type as event_type,
        {{ json_text('data', ['object', 'object']) }} as object_type,
        {{ json_text('data', ['object', 'id']) }} as object_id,
        coalesce(
            {{ json_text('data', ['object', 'customer']) }},
            case when {{ json_text('data', ['object', 'object']) }} = 'customer'
                then {{ json_text('data', ['object', 'id']) }} end
        ) as stripe_customer_id,
        cast(data as {{ dbt.type_string() }}) as event_data,
        {{ unix_to_utc('created') }} as created_at
    from deduped
    where row_num = 1
)

select * from renamed
