{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ drop_old_product_days() }}"
    )
}}

-- The event names each workspace used per day, over the recent days (macros/product_usage.sql):
-- what account_daily_activity's daily build reads to count the event types used over 30 days, kept
-- like int_product__user_days (at L, a daily build otherwise reads 7.6 M events for them).
{{ product_event_type_days(ref('stg_product__events'), recent_product_events()) }}
