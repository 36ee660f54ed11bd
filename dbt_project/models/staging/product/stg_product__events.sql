-- No window dedupe here: on the M world (16 M events) a row_number() over event_id costs 8-15 s
-- on every read, while the loader appends each day file once (a crashed load package is finished,
-- never re-extracted). Uniqueness of event_id is asserted by a test instead (see DECISIONS.md).
with source as (
    {{ select_source('raw_product', 'events') }}
),

renamed as (
    select
        event_id,
        account_id as workspace_id,
        user_id as product_user_id,
        event_name,
        {{ to_utc('event_timestamp') }} as event_at,
        cast(event_date as date) as event_date,
        -- The export's day partition as loaded ('YYYY-MM-DD' text): filters on it skip old row groups.
        event_date as event_day_key,
        properties
    from source
    where event_id is not null
)

select * from renamed
