with source as (
    {{ select_source('raw_zendesk', 'ticket_metrics') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as ticket_metric_id,
        ticket_id,
        coalesce(reopens, 0) as reopen_count,
        coalesce(replies, 0) as reply_count,
        reply_time_in_minutes__calendar as first_reply_minutes,
        full_resolution_time_in_minutes__calendar as full_resolution_minutes,
        {{ to_utc('solved_at') }} as solved_at,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
    from deduped
    where row_num = 1
)

select * from renamed
