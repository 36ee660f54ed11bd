{#- Each product user's activity per day they were active, from the staged events (`events`) that
    `where` keeps: how many events, and of which kind (var event_taxonomy, macros/event_taxonomy.sql).
    One definition for the two places that aggregate it: account_daily_activity's full build (all
    events) and int_product__user_days (the recent days its daily builds read). -#}
{% macro product_user_days(events, where='true') %}
    select
        workspace_id,
        product_user_id,
        event_date as activity_date,
        count(*) as event_count,
        sum(case when {{ event_in('sessions') }} then 1 else 0 end) as session_count,
        sum(case when {{ event_in('advanced_features') }} or {{ event_in('integrations') }} then 1 else 0 end)
            as advanced_event_count,
        sum(case when {{ event_in('exports') }} then 1 else 0 end) as export_event_count,
        sum(case when {{ event_in('admin_actions') }} then 1 else 0 end) as user_invite_count
    from {{ events }}
    where {{ where }}
    group by workspace_id, product_user_id, event_date
{% endmacro %}

{#- The distinct event names each workspace used per day, from the staged events `where` keeps: one
    definition for account_daily_activity's full build and int_product__event_type_days. -#}
{% macro product_event_type_days(events, where='true') %}
    select distinct workspace_id, event_name, event_date as activity_date
    from {{ events }}
    where {{ where }}
{% endmacro %}

{#- The recent product days (int_product__user_days, int_product__event_type_days) keep the last 45
    days of the data clock, and any day after it. account_daily_activity's daily build reads the 31
    days before the first day it rebuilds (var incremental_lookback_days before its last day); the
    rest leaves room for missed runs (after a longer pause it reads the events instead). -#}
{% macro recent_product_days_from() -%}
    {{- clock_date_literal(ref('int_data_clock'), -45) -}}
{%- endmacro %}

{#- Which events a build of a recent product days table reads: the days it rebuilds (all kept days in
    a full build), never before the window. -#}
{% macro recent_product_events() -%}
    event_day_key >= cast({{ recent_product_days_from() }} as {{ dbt.type_string() }})
    {%- if is_incremental() %}
    and event_day_key >= cast({{ incremental_start_literal('activity_date') }} as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of a recent product days table: the days that left the window go. -#}
{% macro drop_old_product_days() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where activity_date < {{ recent_product_days_from() }}
    {%- endif -%}
{%- endmacro %}
