{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- The health score of every account on every day it was a customer: each component 0-100 (the
-- weighted mean of its measures' points), the score (the weighted mean of the components that
-- have data: a missing input re-weights the others) and the tier from the segment's cut-offs.
with metrics as (
    select * from {{ ref('int_account_health_metrics') }}
    {% if is_incremental() %}where snapshot_date >= {{ incremental_start('snapshot_date') }}{% endif %}
),

config as (
    select * from {{ ref('int_health_score_config') }}
),

points as (
    {{ health_metric_points('metrics', 'config') }}
),

components as (
    select
        account_id,
        snapshot_date,
        segment,
        component,
        max(component_weight) as component_weight,
        max(red_below) as red_below,
        max(green_at_or_above) as green_at_or_above,
        sum(case when metric_points is not null then metric_points * metric_weight end)
            / nullif(sum(case when metric_points is not null then metric_weight end), 0) as component_score
    from points
    group by account_id, snapshot_date, segment, component
),

scores as (
    select
        account_id,
        snapshot_date,
        segment,
        max(red_below) as red_below,
        max(green_at_or_above) as green_at_or_above,
        sum(case when component_score is not null then component_score * component_weight end)
            / nullif(sum(case when component_score is not null then component_weight end), 0) as health_score,
        {% for c in health_components() %}
        max(case when component = '{{ c }}' then component_score end) as {{ c }}_score,
        {% endfor %}
        cast(sum(case when component_score is not null and component_weight > 0 then 1 else 0 end) as {{ dbt.type_bigint() }})
            as components_with_data
    from components
    group by account_id, snapshot_date, segment
)

select
    {{ dbt.concat(['account_id', "'|'", 'cast(snapshot_date as ' ~ dbt.type_string() ~ ')']) }} as account_day_id,
    account_id,
    snapshot_date,
    segment,
    round(health_score, 1) as health_score,
    {{ health_tier('round(health_score, 1)', 'red_below', 'green_at_or_above') }} as health_tier,
    {% for c in health_components() %}
    round({{ c }}_score, 1) as {{ c }}_score,
    {% endfor %}
    components_with_data
from scores
