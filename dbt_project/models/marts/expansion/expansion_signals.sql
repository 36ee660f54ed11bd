-- Per current customer: the signs that it needs more (seats nearly all in use, usage growing,
-- teammates being invited, advanced features taken up), an expansion score 0-100 and the reason.
-- The cut-offs are project vars (expansion_*), edited like the health-score configuration and
-- checked like it: a pair that cannot work stops this model with one line naming the var.
with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

metrics as (
    select metrics.*
    from {{ ref('int_account_health_metrics') }} as metrics
    inner join clock on metrics.snapshot_date = clock.as_of_date
),

health as (
    select account_id, health_score, health_tier from {{ ref('health_scores') }}
),

open_expansions as (
    select account_id, count(*) as open_expansion_opportunities, sum(amount) as open_expansion_amount
    from {{ ref('stg_crm__opportunities') }}
    where opportunity_type = 'Expansion' and not is_closed
    group by account_id
),

signals as (
    select
        metrics.account_id,
        metrics.snapshot_date as scored_as_of,
        metrics.seats,
        metrics.active_users_30d,
        case when metrics.seats > 0
            then cast(metrics.active_users_30d as {{ type_double() }}) / metrics.seats end as seat_utilisation,
        case when metrics.active_users_30d_90d_ago > 0
            then cast(metrics.active_users_30d as {{ type_double() }}) / metrics.active_users_30d_90d_ago - 1
            end as active_users_growth_90d,
        metrics.user_invites_30d,
        metrics.advanced_feature_share,
        health.health_score,
        health.health_tier,
        coalesce(open_expansions.open_expansion_opportunities, 0) as open_expansion_opportunities,
        coalesce(open_expansions.open_expansion_amount, 0) as open_expansion_amount
    from metrics
    left join health on metrics.account_id = health.account_id
    left join open_expansions on metrics.account_id = open_expansions.account_id
),

{% set lo_util, hi_util = expansion_points_range('expansion_seat_utilisation_points') %}
{% set lo_growth, hi_growth = expansion_points_range('expansion_growth_points') %}
points as (
    select
        *,
        case
            when seat_utilisation is null then null
            when seat_utilisation <= {{ lo_util }} then 0.0
            when seat_utilisation >= {{ hi_util }} then 100.0
            else 100.0 * (seat_utilisation - {{ lo_util }}) / ({{ hi_util }} - {{ lo_util }})
        end as utilisation_points,
        case
            when active_users_growth_90d is null then null
            when active_users_growth_90d <= {{ lo_growth }} then 0.0
            when active_users_growth_90d >= {{ hi_growth }} then 100.0
            else 100.0 * (active_users_growth_90d - {{ lo_growth }}) / ({{ hi_growth }} - {{ lo_growth }})
        end as growth_points,
        case when health_score is null then null else health_score end as health_points
    from signals
)

select
    account_id,
    scored_as_of,
    seats,
    active_users_30d,
    round(seat_utilisation, 3) as seat_utilisation,
    round(active_users_growth_90d, 3) as active_users_growth_90d,
    user_invites_30d,
    round(advanced_feature_share, 3) as advanced_feature_share,
    health_tier,
    open_expansion_opportunities,
    open_expansion_amount,
    round(
        (coalesce(utilisation_points * 0.6, 0) + coalesce(growth_points * 0.2, 0) + coalesce(health_points * 0.2, 0))
        / nullif(
            case when utilisation_points is null then 0 else 0.6 end
            + case when growth_points is null then 0 else 0.2 end
            + case when health_points is null then 0 else 0.2 end, 0),
        1
    ) as expansion_score,
    case
        when seat_utilisation >= {{ hi_util }} and coalesce(health_tier, '') <> 'Red'
            then 'seats nearly full: ' || cast(active_users_30d as {{ dbt.type_string() }}) || ' of '
                || cast(seats as {{ dbt.type_string() }}) || ' seats active in 30 days'
        when active_users_growth_90d >= {{ hi_growth }}
            then 'usage growing: active users up '
                || cast(cast(round(active_users_growth_90d * 100, 0) as integer) as {{ dbt.type_string() }})
                || '% in 90 days'
        when open_expansion_opportunities > 0 then 'expansion opportunity already open'
        else 'no strong expansion signal'
    end as expansion_reason
from points
