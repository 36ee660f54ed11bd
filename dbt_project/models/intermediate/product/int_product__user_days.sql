{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- One row per product user per day with activity: the grain every usage figure is built from
-- (daily and 30-day active users, depth and breadth of use). The events are read once here;
-- incremental runs re-read only the last few days.
with events as (
    select * from {{ ref('stg_product__events') }}
    {% if is_incremental() %}
    where event_date >= {{ incremental_start('activity_date') }}
    {% endif %}
),

user_days as (
    select
        workspace_id,
        product_user_id,
        event_date as activity_date,
        count(*) as event_count,
        sum(case when event_name = 'session_started' then 1 else 0 end) as session_count,
        sum(case when event_name in (
            {%- for f in var('advanced_features') %}'{{ f }}'{{ ", " if not loop.last }}{% endfor -%}
        ) then 1 else 0 end) as advanced_event_count,
        sum(case when event_name = 'export_data' then 1 else 0 end) as export_event_count,
        sum(case when event_name = 'user_invited' then 1 else 0 end) as user_invite_count,
        -- Workspaces that share emails put the user's address on session events.
        max(case when event_name = 'session_started' then lower({{ json_text('properties', ['email']) }}) end)
            as user_email
    from events
    group by workspace_id, product_user_id, event_date
)

-- The key is (workspace_id, product_user_id, activity_date); no concatenated surrogate column:
-- on 7-8 M rows building it costs more than the whole aggregation.
select * from user_days
