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
-- The configuration is turned into one row per segment so that the arithmetic runs along each
-- account-day row (on M, 1.2 M rows x 12 measures would otherwise be 14 M long rows).
{% set metric_names = health_metric_names() %}
{% set components = health_components() %}

with metrics as (
    select * from {{ ref('int_account_health_metrics') }}
    {% if is_incremental() %}where snapshot_date >= {{ incremental_start('snapshot_date') }}{% endif %}
),

config as (
    select * from {{ ref('int_health_score_config') }}
),

config_by_segment as (
    select
        segment,
        max(red_below) as red_below,
        max(green_at_or_above) as green_at_or_above,
        {% for m in metric_names %}
        max(case when metric = '{{ m }}' then component end) as {{ m }}__component,
        max(case when metric = '{{ m }}' then component_weight end) as {{ m }}__component_weight,
        max(case when metric = '{{ m }}' then metric_weight end) as {{ m }}__weight,
        max(case when metric = '{{ m }}' then zero_points_at end) as {{ m }}__zero,
        max(case when metric = '{{ m }}' then full_points_at end) as {{ m }}__full{{ "," if not loop.last }}
        {% endfor %}
    from config
    group by segment
),

points as (
    select
        metrics.account_id,
        metrics.snapshot_date,
        metrics.segment,
        cfg.red_below,
        cfg.green_at_or_above,
        {% for m in metric_names %}
        cfg.{{ m }}__component,
        cfg.{{ m }}__component_weight,
        cfg.{{ m }}__weight,
        case
            when metrics.{{ m }} is null or cfg.{{ m }}__weight is null then null
            when (metrics.{{ m }} - cfg.{{ m }}__zero) / (cfg.{{ m }}__full - cfg.{{ m }}__zero) <= 0 then 0.0
            when (metrics.{{ m }} - cfg.{{ m }}__zero) / (cfg.{{ m }}__full - cfg.{{ m }}__zero) >= 1 then 100.0
            else 100.0 * (metrics.{{ m }} - cfg.{{ m }}__zero) / (cfg.{{ m }}__full - cfg.{{ m }}__zero)
        end as {{ m }}__points{{ "," if not loop.last }}
        {% endfor %}
    from metrics
    -- The segment's own configuration, else the defaults (*).
    left join config_by_segment as own on metrics.segment = own.segment
    inner join config_by_segment as cfg on cfg.segment = coalesce(own.segment, '*')
),

components as (
    select
        account_id,
        snapshot_date,
        segment,
        red_below,
        green_at_or_above,
        {% for c in components %}
        coalesce(
            {% for m in metric_names %}case when {{ m }}__component = '{{ c }}' then {{ m }}__component_weight end,
            {% endfor %}0
        ) as {{ c }}_weight,
        (
            {% for m in metric_names %}coalesce(case when {{ m }}__component = '{{ c }}' then {{ m }}__points * {{ m }}__weight end, 0)
            {{ "+" if not loop.last }} {% endfor %}
        ) / nullif(
            {% for m in metric_names %}case when {{ m }}__component = '{{ c }}' and {{ m }}__points is not null then {{ m }}__weight else 0 end
            {{ "+" if not loop.last }} {% endfor %}, 0
        ) as {{ c }}_score{{ "," if not loop.last }}
        {% endfor %}
    from points
),

scores as (
    select
        *,
        (
            {% for c in components %}coalesce({{ c }}_score * {{ c }}_weight, 0){{ " + " if not loop.last }}{% endfor %}
        ) / nullif(
            {% for c in components %}case when {{ c }}_score is not null then {{ c }}_weight else 0 end{{ " + " if not loop.last }}{% endfor %},
            0
        ) as health_score,
        {% for c in components %}case when {{ c }}_score is not null and {{ c }}_weight > 0 then 1 else 0 end{{ " + " if not loop.last }}{% endfor %}
            as components_with_data
    from components
)

select
    {{ dbt.concat(['account_id', "'|'", 'cast(snapshot_date as ' ~ dbt.type_string() ~ ')']) }} as account_day_id,
    account_id,
    snapshot_date,
    segment,
    round(health_score, 1) as health_score,
    {{ health_tier('round(health_score, 1)', 'red_below', 'green_at_or_above') }} as health_tier,
    {% for c in components %}
    round({{ c }}_score, 1) as {{ c }}_score,
    {% endfor %}
    cast(components_with_data as {{ dbt.type_bigint() }}) as components_with_data
from scores
