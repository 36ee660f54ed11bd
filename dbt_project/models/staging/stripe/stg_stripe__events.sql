-- No window dedupe here: the loader merges events on their id (dlt's delete-insert on the primary
-- key, dlt_pipelines/stripe/tables.py), so the raw table holds each event once, and the
-- primary_key test on event_id asserts it. A window over the event log kept the engine from pushing
-- a reader's filters on the day and the type into the scan: every read parsed all the events' JSON
-- (at 600 k events, ~3.7 s of each daily build's account_daily_activity for a few payment failures).
with source as (
    {{ select_source('raw_stripe', 'events') }}
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
        {{ unix_to_utc('created') }} as created_at,
        -- The same instant as Unix seconds, for readers that want only recent events: a filter on it
        -- reaches the table scan, which skips the blocks of older events (the log is stored in
        -- arrival order); a filter on created_at reads and parses every event.
        created as created_unix_seconds
    from source
)

select * from renamed
