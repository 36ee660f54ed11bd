-- The health-score configuration an analyst edits (seeds/health_score/*.csv), checked and
-- resolved: one row per segment and measure with the weights and cut-offs that apply. A
-- configuration that cannot work fails the build here, with one line naming the problem.
{% set components = health_components() %}
{% set metric_names = health_metric_names() %}

with weights as (
    select
        trim(segment) as segment,
        lower(trim(component)) as component,
        trim(weight) as weight_text,
        {{ safe_to_double('weight') }} as weight
    from {{ ref('health_score_weights') }}
),

metrics as (
    select
        lower(trim(component)) as component,
        lower(trim(metric)) as metric,
        trim(weight_in_component) as metric_weight_text,
        {{ safe_to_double('weight_in_component') }} as metric_weight,
        trim(zero_points_at) as zero_text,
        {{ safe_to_double('zero_points_at') }} as zero_points_at,
        trim(full_points_at) as full_text,
        {{ safe_to_double('full_points_at') }} as full_points_at,
        lower(trim(unit)) as unit,
        label
    from {{ ref('health_score_metrics') }}
),

tiers as (
    select
        trim(segment) as segment,
        trim(red_below) as red_text,
        {{ safe_to_double('red_below') }} as red_below,
        trim(green_at_or_above) as green_text,
        {{ safe_to_double('green_at_or_above') }} as green_at_or_above
    from {{ ref('health_score_tiers') }}
),

problems as (
    select 1 as problem_rank, 'health_score_weights: weight ''' || coalesce(weight_text, '') || ''' for component ' || component
        || ' (segment ' || segment || ') is not a number' as problem
    from weights where weight is null
    union all
    select 2 as problem_rank, 'health_score_weights: weight ' || weight_text || ' for component ' || component
        || ' (segment ' || segment || ') is negative'
    from weights where weight < 0
    union all
    select 3 as problem_rank, 'health_score_weights: unknown component ''' || component || ''' (known: {{ components | join(", ") }})'
    from weights where component not in ({% for c in components %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
    union all
    select 4 as problem_rank, 'health_score_weights: component ' || component || ' appears ' || cast(count(*) as {{ dbt.type_string() }})
        || ' times for segment ' || segment
    from weights group by segment, component having count(*) > 1
    union all
    select 5 as problem_rank, 'health_score_weights: no default (segment *) weight for component ' || component
    from (
        {% for c in components %}select '{{ c }}' as component{{ " union all " if not loop.last }}{% endfor %}
    ) as known
    where component not in (select component from weights where segment = '*')
    union all
    select 6 as problem_rank, 'health_score_metrics: unknown component ''' || component || ''' for metric ' || metric
        || ' (known: {{ components | join(", ") }})'
    from metrics where component not in ({% for c in components %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
    union all
    select 7 as problem_rank, 'health_score_metrics: unknown metric ''' || metric || ''' (known: {{ metric_names | join(", ") }})'
    from metrics where metric not in ({% for m in metric_names %}'{{ m }}'{{ ", " if not loop.last }}{% endfor %})
    union all
    select 8 as problem_rank, 'health_score_metrics: ' || metric || ' weight_in_component ''' || coalesce(metric_weight_text, '')
        || ''' is not a number >= 0'
    from metrics where metric_weight is null or metric_weight < 0
    union all
    select 9 as problem_rank, 'health_score_metrics: ' || metric || ' zero_points_at ''' || coalesce(zero_text, '')
        || ''' or full_points_at ''' || coalesce(full_text, '') || ''' is not a number'
    from metrics where zero_points_at is null or full_points_at is null
    union all
    select 10 as problem_rank, 'health_score_metrics: ' || metric || ' gives 0 and 100 points at the same value ' || zero_text
    from metrics where zero_points_at = full_points_at
    union all
    select 11 as problem_rank, 'health_score_metrics: ' || metric || ' unit ''' || coalesce(unit, '') || ''' is not percent, count, number or flag'
    from metrics where coalesce(unit, '') not in ('percent', 'count', 'number', 'flag')
    union all
    select 12 as problem_rank, 'health_score_tiers: cut-off ''' || coalesce(red_text, '') || ''' / ''' || coalesce(green_text, '')
        || ''' for segment ' || segment || ' is not a number'
    from tiers where red_below is null or green_at_or_above is null
    union all
    select 13 as problem_rank, 'health_score_tiers: cut-offs out of order for segment ' || segment || ': red_below ' || red_text
        || ' is above green_at_or_above ' || green_text
    from tiers where red_below > green_at_or_above
    union all
    select 14 as problem_rank, 'health_score_tiers: cut-offs for segment ' || segment || ' are outside 0-100'
    from tiers where red_below < 0 or green_at_or_above > 100
    union all
    select 15 as problem_rank, 'health_score_tiers: no default row (segment *)'
    from (select count(*) as n from tiers where segment = '*') as defaults where n = 0
),

-- The first problem in the order checked above (a typo in a component name is reported as
-- such, not as the missing weight it also causes).
first_problem as (
    select min(problem) as problem
    from problems
    where problem_rank = (select min(problem_rank) from problems)
),

segments as (
    select segment from weights
    union
    select segment from tiers
),

resolved as (
    select
        segments.segment,
        metrics.component,
        coalesce(specific_weight.weight, default_weight.weight) as component_weight,
        metrics.metric,
        metrics.metric_weight,
        metrics.zero_points_at,
        metrics.full_points_at,
        metrics.unit,
        metrics.label,
        coalesce(specific_tier.red_below, default_tier.red_below) as red_below,
        coalesce(specific_tier.green_at_or_above, default_tier.green_at_or_above) as green_at_or_above
    from segments
    cross join metrics
    left join weights as specific_weight
        on specific_weight.segment = segments.segment and specific_weight.component = metrics.component
    left join weights as default_weight
        on default_weight.segment = '*' and default_weight.component = metrics.component
    left join tiers as specific_tier on specific_tier.segment = segments.segment
    left join tiers as default_tier on default_tier.segment = '*'
)

select
    {{ dbt.concat(['resolved.segment', "'|'", 'resolved.metric']) }} as config_key,
    resolved.*
from resolved
cross join first_problem
-- Any problem stops the statement with its text.
where {{ fail_on_problem('first_problem.problem', 'health-score configuration') }}
