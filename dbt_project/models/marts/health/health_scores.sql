-- The current health of every customer (as of the data's own clock): score, tier, trend against
-- 30 days before, and each component with the reason behind it: the weakest of its measures,
-- with its value and the points it earned. This is what the CRM fields and the reports show.
with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

-- Two days of the history, each read straight from the table (a shared CTE would copy all of it).
today as (
    select history.*
    from {{ ref('health_score_history') }} as history
    inner join clock on history.snapshot_date = clock.as_of_date
),

month_ago as (
    select history.account_id, history.health_score, history.health_tier
    from {{ ref('health_score_history') }} as history
    inner join clock on history.snapshot_date = {{ add_days('clock.as_of_date', -30) }}
),

metrics as (
    select metrics.*
    from {{ ref('int_account_health_metrics') }} as metrics
    inner join clock on metrics.snapshot_date = clock.as_of_date
),

config as (
    select * from {{ ref('int_health_score_config') }}
),

points as (
    {{ health_metric_points('metrics', 'config') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, component
            order by case when metric_points is null then 1 else 0 end, metric_points, metric
        ) as weakness_rank
    from points
),

reasons as (
    select
        account_id,
        component,
        case
            when metric_points is null
                then 'no data: left out, its weight goes to the other components'
            when unit = 'flag' then label || ': ' || {{ format_metric_value('metric_value', 'unit') }}
                || ' (' || cast(cast(round(metric_points, 0) as integer) as {{ dbt.type_string() }}) || ' of 100 points)'
            else {{ format_metric_value('metric_value', 'unit') }} || ' ' || label
                || ' (' || cast(cast(round(metric_points, 0) as integer) as {{ dbt.type_string() }}) || ' of 100 points; 0 at '
                || {{ format_metric_value('zero_points_at', 'unit') }} || ', 100 at '
                || {{ format_metric_value('full_points_at', 'unit') }} || ')'
        end as reason
    from ranked
    where weakness_rank = 1
),

wide as (
    select
        today.account_id,
        {% for c in health_components() %}
        max(case when reasons.component = '{{ c }}' then reasons.reason end) as {{ c }}_reason{{ "," if not loop.last }}
        {% endfor %}
    from today
    left join reasons on today.account_id = reasons.account_id
    group by today.account_id
),

-- The components pulling the score down most: below 50 points, lowest first, at most three.
drivers as (
    select
        today.account_id,
        component_scores.component,
        component_scores.component_score,
        row_number() over (partition by today.account_id order by component_scores.component_score, component_scores.component)
            as driver_rank
    from today
    inner join (
        {% for c in health_components() %}
        select account_id, '{{ c }}' as component, {{ c }}_score as component_score from today
        {{ "union all" if not loop.last }}
        {% endfor %}
    ) as component_scores on today.account_id = component_scores.account_id
    where component_scores.component_score < 50
),

driver_text as (
    select
        drivers.account_id,
        {{ dbt.listagg(
            "drivers.component || ': ' || reasons.reason",
            "'; '",
            "order by drivers.driver_rank"
        ) }} as top_risk_drivers
    from drivers
    inner join reasons on drivers.account_id = reasons.account_id and drivers.component = reasons.component
    where drivers.driver_rank <= 3
    group by drivers.account_id
)

select
    today.account_id,
    today.snapshot_date as scored_as_of,
    today.segment,
    today.health_score,
    today.health_tier,
    month_ago.health_score as health_score_30d_ago,
    month_ago.health_tier as health_tier_30d_ago,
    round(today.health_score - month_ago.health_score, 1) as health_score_change_30d,
    case
        when month_ago.health_score is null then 'new'
        when today.health_score - month_ago.health_score >= 5 then 'improving'
        when today.health_score - month_ago.health_score <= -5 then 'declining'
        else 'stable'
    end as health_trend,
    {% for c in health_components() %}
    today.{{ c }}_score,
    wide.{{ c }}_reason,
    {% endfor %}
    today.components_with_data,
    driver_text.top_risk_drivers
from today
left join month_ago on today.account_id = month_ago.account_id
left join wide on today.account_id = wide.account_id
left join driver_text on today.account_id = driver_text.account_id
