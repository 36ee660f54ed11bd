with source as (
    {{ select_source('raw_zendesk', 'satisfaction_ratings') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        id as satisfaction_rating_id,
        ticket_id,
        organization_id,
        lower(score) as score,
        lower(score) = 'good' as is_good,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
    from deduped
    -- "offered" / "unoffered" are invitations, not answers.
    where row_num = 1
        and lower(score) in ('good', 'bad')
)

select * from renamed
