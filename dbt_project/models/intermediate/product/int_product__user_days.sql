{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ drop_old_product_days() }}"
    )
}}

-- Per product user per day they were active, over the recent days (macros/product_usage.sql: the
-- last 45 of the data clock): what account_daily_activity's daily build reads to count distinct
-- active users over 7 and 30 days. Aggregating them from the events in that build cost most of its
-- time (at L, 7.6 M events for 34 days); here a daily build aggregates only the days it rebuilds
-- (var incremental_lookback_days) and drops the days that left the window.
{{ product_user_days(ref('stg_product__events'), recent_product_events()) }}
