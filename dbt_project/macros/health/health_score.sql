{#- The components a health score can have, and the measures (columns of
    int_account_health_metrics) the configuration may use. A component or measure outside these
    lists in the seeds fails the build (int_health_score_config). The cancellation notice is not
    one of them: it is the customer's decision, not a measure of health (customer_360's
    lifecycle_state says it). -#}
{% macro health_components() -%}
    {{ return(['usage', 'adoption', 'support', 'billing', 'relationship']) }}
{%- endmacro %}

{% macro health_metric_names() -%}
    {{ return([
        'daily_active_seat_share', 'monthly_active_seat_share',
        'advanced_feature_share', 'events_per_active_user_day',
        'open_tickets', 'high_priority_tickets_90d', 'csat_bad_share_180d',
        'payment_failures_90d', 'overdue_invoices',
        'champion_present', 'champion_active_days_30d'
    ]) }}
{%- endmacro %}

{#- One row per account, day and configured measure: the measure's value and its 0-100 points
    (linear between the configured ends, capped), with the measure's and its component's weights
    for the account's segment (the `*` defaults where the segment has no row of its own).
    `metrics` and `config` are relations (or CTE names) shaped like int_account_health_metrics
    and int_health_score_config. -#}
{% macro health_metric_points(metrics, config) -%}
    with long_metrics as (
        {% for m in health_metric_names() %}
        select
            account_id,
            snapshot_date,
            segment,
            '{{ m }}' as metric,
            cast({{ m }} as {{ type_double() }}) as metric_value
        from {{ metrics }}
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ),

    configured_segments as (
        select distinct segment from {{ config }}
    ),

    keyed as (
        select
            long_metrics.*,
            coalesce(configured_segments.segment, '*') as config_segment
        from long_metrics
        left join configured_segments on long_metrics.segment = configured_segments.segment
    )

    select
        keyed.account_id,
        keyed.snapshot_date,
        keyed.segment,
        config.component,
        config.component_weight,
        keyed.metric,
        keyed.metric_value,
        config.metric_weight,
        config.zero_points_at,
        config.full_points_at,
        config.unit,
        config.label,
        config.red_below,
        config.green_at_or_above,
        case
            when keyed.metric_value is null then null
            when (keyed.metric_value - config.zero_points_at) / (config.full_points_at - config.zero_points_at) <= 0
                then 0.0
            when (keyed.metric_value - config.zero_points_at) / (config.full_points_at - config.zero_points_at) >= 1
                then 100.0
            else 100.0 * (keyed.metric_value - config.zero_points_at) / (config.full_points_at - config.zero_points_at)
        end as metric_points
    from keyed
    inner join {{ config }} as config
        on keyed.config_segment = config.segment
        and keyed.metric = config.metric
{%- endmacro %}

{#- Red / Yellow / Green from a score and the segment's cut-offs. -#}
{% macro health_tier(score, red_below, green_at_or_above) -%}
    case
        when {{ score }} is null then 'Unknown'
        when {{ score }} < {{ red_below }} then 'Red'
        when {{ score }} >= {{ green_at_or_above }} then 'Green'
        else 'Yellow'
    end
{%- endmacro %}

{#- A measure's value as a CSM reads it: 12%, 3, 1.8, yes / no. -#}
{% macro format_metric_value(value, unit) -%}
    case
        when {{ value }} is null then 'no data'
        when {{ unit }} = 'percent' then cast(cast(round({{ value }} * 100, 0) as integer) as {{ dbt.type_string() }}) || '%'
        when {{ unit }} = 'count' then cast(cast(round({{ value }}, 0) as integer) as {{ dbt.type_string() }})
        when {{ unit }} = 'flag' then case when {{ value }} >= 0.5 then 'yes' else 'no' end
        else cast(round({{ value }}, 1) as {{ dbt.type_string() }})
    end
{%- endmacro %}
