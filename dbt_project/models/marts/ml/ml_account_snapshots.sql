-- Point-in-time training rows for the churn and expansion models: one row per customer per
-- observation day (every var ml_observation_every_days days, on Mondays when 7, plus the data
-- clock's as-of day, which the daily scoring reads), with features
-- computed only from data up to and including that day, and labels from the horizon after it
-- (var ml_label_horizon_days). Rows whose horizon reaches past the data's last day have
-- label_is_complete = false: score them, do not train on them.
{{
    config(
        materialized='incremental',
        unique_key='snapshot_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where observation_date >= {{ incremental_start_literal('observation_date') }} or not {{ is_regular_observation_day('observation_date') }}{% endif %}"
    )
}}
{% set horizon = var('ml_label_horizon_days') %}
-- Incremental runs compute the features of the observation days from the lookback on (var
-- incremental_lookback_days before the last day built); the daily tables they join are read from that
-- day on too. The rows built before keep their features (point in time: the daily tables they come
-- from are not rebuilt before the lookback either), and those whose labels were still incomplete get
-- their labels again; rows with complete labels are final. Of those earlier rows, only the ones whose
-- labels changed are written again (a few thousand a day, not the ~200,000 open rows at L: rewriting
-- them all was ~2 s of a daily build, half of it in the warehouse's checkpoint). The pre-hook drops
-- the observation days whose features are computed again, and the previous as-of day's rows when
-- it was no regular observation day. (Computing the features of every incomplete row again,
-- 14 observation days, was 2.6 s of a daily build at L.)
{% set features_from = incremental_start_literal('observation_date') if is_incremental() else none %}
{% set label_columns = ['churned_within_horizon', 'expanded_within_horizon', 'label_horizon_days', 'label_is_complete'] %}
{#- what an incremental build computes again for earlier rows: the labels and is_open_row, whose churn
    condition is a label too; an earlier row is written again only when one of them changed -#}
{% set relabelled_columns = label_columns + ['is_open_row'] %}
{#- the contract's columns (models/marts/ml/_ml__models.yml) but those -#}
{% set feature_columns = model.columns.keys() | reject('in', relabelled_columns) | list %}
-- The daily tables are read on the observation days only (is_observation_day), not on every day of
-- the window, before they are joined.
{% set as_of = '(select as_of_date from clock)' %}

with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

lifetimes as (
    select
        accounts.account_id,
        coalesce(billing.subscription_start_date, accounts.customer_since_date) as customer_start_date,
        billing.churn_date
    from {{ ref('stg_crm__accounts') }} as accounts
    left join {{ ref('int_accounts__subscriptions') }} as billing on accounts.account_id = billing.account_id
),

observations as (
    select days.account_id, days.activity_date as observation_date, days.segment, lifetimes.customer_start_date,
        lifetimes.churn_date
    from {{ ref('int_account_days') }} as days
    inner join lifetimes on days.account_id = lifetimes.account_id
    where {{ is_observation_day('days.activity_date', as_of) }}
    {% if features_from %}and days.activity_date >= {{ features_from }}{% endif %}
),

metrics as (
    select * from {{ ref('int_account_health_metrics') }}
    where {{ is_observation_day('snapshot_date', as_of) }}
    {% if features_from %}and snapshot_date >= {{ features_from }}{% endif %}
),

trends as (
    select * from {{ ref('int_account_trends') }}
    where {{ is_observation_day('snapshot_date', as_of) }}
    {% if features_from %}and snapshot_date >= {{ features_from }}{% endif %}
),

health as (
    select account_id, snapshot_date, health_score, usage_score, adoption_score, support_score, billing_score,
        relationship_score
    from {{ ref('health_score_history') }}
    where {{ is_observation_day('snapshot_date', as_of) }}
    {% if features_from %}and snapshot_date >= {{ features_from }}{% endif %}
),

-- The subscription as it stood at the end of the observation day (its plan, term and start), not today's.
billing_versions as (
    select
        observations.account_id,
        observations.observation_date,
        cast(versions.started_at as date) as subscription_start_date,
        versions.contract_term_months,
        versions.billing_interval,
        row_number() over (
            partition by observations.account_id, observations.observation_date
            order by case when versions.status in ('active', 'past_due', 'trialing') then 0 else 1 end,
                versions.valid_from desc
        ) as version_rank
    from observations
    inner join {{ ref('int_accounts_joined_across_systems') }} as links
        on observations.account_id = links.account_id
    inner join {{ ref('int_billing__subscription_versions') }} as versions
        on links.stripe_customer_id = versions.stripe_customer_id
        and cast(versions.valid_from as date) <= observations.observation_date
        and (versions.valid_to is null or cast(versions.valid_to as date) > observations.observation_date)
),

billing as (
    select * from billing_versions where version_rank = 1
),

-- The subscription as billing had it at the end of each day: its status and whether the customer had
-- asked to cancel at period end (for notice_given and is_open_row; see the yml).
day_status as (
    select account_id, activity_date, subscription_status, notice_given
    from {{ ref('account_daily_activity') }}
    where {{ is_observation_day('activity_date', as_of) }}
    {% if features_from %}and activity_date >= {{ features_from }}{% endif %}
),

expansion_wins as (
    select account_id, close_date
    from {{ ref('stg_crm__opportunities') }}
    where opportunity_type = 'Expansion' and is_won
),

seat_changes as (
    select links.account_id, cast(versions.valid_from as date) as change_date, versions.seats
    from {{ ref('int_billing__subscription_versions') }} as versions
    inner join {{ ref('int_accounts_joined_across_systems') }} as links
        on versions.stripe_customer_id = links.stripe_customer_id
    where versions.status in ('active', 'past_due', 'trialing')
),

features as (
select
    {{ dbt.concat(['observations.account_id', "'|'", 'cast(observations.observation_date as ' ~ dbt.type_string() ~ ')']) }}
        as snapshot_id,
    observations.account_id,
    observations.observation_date,
    observations.segment,
    billing.billing_interval,
    billing.contract_term_months,
    {{ dbt.datediff('observations.customer_start_date', 'observations.observation_date', 'day') }} as tenure_days,
    {{ dbt.datediff('observations.observation_date',
        next_term_end('billing.subscription_start_date', 'billing.contract_term_months', 'observations.observation_date'),
        'day') }} as days_to_term_end,
    metrics.seats,
    metrics.arr,
    metrics.arr - metrics.arr_90d_ago as arr_change_90d,
    metrics.active_users_7d,
    metrics.active_users_30d,
    case when metrics.active_users_30d_90d_ago > 0
        then cast(metrics.active_users_30d as {{ type_double() }}) / metrics.active_users_30d_90d_ago - 1
        end as active_users_growth_90d,
    metrics.daily_active_seat_share,
    metrics.monthly_active_seat_share,
    metrics.advanced_feature_share,
    metrics.events_per_active_user_day,
    case when metrics.events_30d > 0
        then cast(metrics.export_events_30d as {{ type_double() }}) / metrics.events_30d end as export_share_30d,
    metrics.user_invites_30d,
    -- usage from any event names (no event taxonomy needed): volume, breadth, trend against the
    -- account's own last 90 days (NULL before 90 days of history or without events in them)
    metrics.events_30d,
    metrics.event_types_30d,
    case when metrics.events_90d > 0 and metrics.days_in_history >= 90
        then cast(metrics.events_30d as {{ type_double() }}) * 3 / metrics.events_90d - 1 end as events_30d_vs_90d,
    metrics.open_tickets,
    metrics.tickets_90d,
    metrics.high_priority_tickets_90d,
    metrics.feature_request_tickets_90d,
    metrics.billing_tickets_90d,
    metrics.cancellation_tickets_90d,
    metrics.csat_bad_share_180d,
    metrics.payment_failures_90d,
    metrics.overdue_invoices,
    metrics.cancellation_notice,
    metrics.champion_present,
    metrics.champion_active_days_30d,
    -- the account against its own longer history (int_account_trends)
    trends.events_per_active_user_day_90d,
    trends.events_per_active_user_day_180d,
    trends.events_per_active_user_day_365d,
    trends.advanced_feature_share_180d,
    trends.advanced_feature_share_365d,
    trends.daily_to_monthly_active_users_180d,
    trends.daily_active_users_30d_vs_180d,
    trends.export_share_7d,
    trends.export_share_30d_vs_180d,
    trends.high_priority_ticket_share_180d,
    trends.csat_bad_share_90d,
    trends.payment_failures_180d,
    trends.days_without_champion_180d,
    trends.champion_changes_180d,
    trends.champion_lost_180d,
    trends.days_since_champion_active,
    health.health_score,
    health.usage_score,
    health.adoption_score,
    health.support_score,
    health.billing_score,
    health.relationship_score,
    -- the baseline the risk reasons quote ("monthly active users 41 -> 12 since 3 Sep"); no feature
    metrics.active_users_30d_90d_ago,
    -- Announced churn, known on the observation day: a scheduled cancellation in billing, or a
    -- cancellation ticket in the 90 days up to it.
    coalesce(day_status.notice_given, false) or coalesce(metrics.cancellation_tickets_90d, 0) > 0 as notice_given,
    -- The rows whose outcome is still open: a paying customer that day, no notice known, and the
    -- contract (or, month to month, the billing period) ends inside the label horizon.
    coalesce(day_status.subscription_status in ('active', 'past_due', 'trialing'), false)
        and (observations.churn_date is null or observations.churn_date > observations.observation_date)
        and not coalesce(day_status.notice_given, false)
        and coalesce(metrics.cancellation_tickets_90d, 0) = 0
        and {{ dbt.datediff('observations.observation_date',
            next_term_end('billing.subscription_start_date', 'billing.contract_term_months', 'observations.observation_date'),
            'day') }} <= {{ horizon }}
        as is_open_row
from observations
inner join metrics
    on observations.account_id = metrics.account_id and observations.observation_date = metrics.snapshot_date
left join trends
    on observations.account_id = trends.account_id and observations.observation_date = trends.snapshot_date
left join health
    on observations.account_id = health.account_id and observations.observation_date = health.snapshot_date
left join billing
    on observations.account_id = billing.account_id and observations.observation_date = billing.observation_date
left join day_status
    on observations.account_id = day_status.account_id and observations.observation_date = day_status.activity_date
),

-- The rows of this build: the new ones, and in an incremental build the earlier ones whose labels
-- were incomplete, with the features they were built with.
snapshot_rows as (
    {% if is_incremental() %}
    select {{ feature_columns | join(', ') }}, is_open_row
        {%- for column in relabelled_columns %}, null as stored_{{ column }}{% endfor %}
    from features
    union all
    select {{ feature_columns | join(', ') }}, is_open_row
        {%- for column in relabelled_columns %}, {{ column }} as stored_{{ column }}{% endfor %}
    from {{ this }}
    where not label_is_complete and observation_date < {{ features_from }}
    {% else %}
    select * from features
    {% endif %}
),

labels as (
    select
        snapshot_rows.account_id,
        snapshot_rows.observation_date,
        max(case when expansion_wins.close_date is not null then 1 else 0 end) as won_expansion,
        max(seat_changes.seats) as max_seats_in_horizon
    from snapshot_rows
    left join expansion_wins
        on snapshot_rows.account_id = expansion_wins.account_id
        and expansion_wins.close_date > snapshot_rows.observation_date
        and expansion_wins.close_date <= {{ add_days('snapshot_rows.observation_date', horizon) }}
    left join seat_changes
        on snapshot_rows.account_id = seat_changes.account_id
        and seat_changes.change_date > snapshot_rows.observation_date
        and seat_changes.change_date <= {{ add_days('snapshot_rows.observation_date', horizon) }}
    group by snapshot_rows.account_id, snapshot_rows.observation_date
),

-- Every row of the build with its labels; an earlier row also with the labels it was stored with.
labelled as (
select
    {% for column in feature_columns %}snapshot_rows.{{ column }},
    {% endfor -%}
    case when lifetimes.churn_date > snapshot_rows.observation_date
        and lifetimes.churn_date <= {{ add_days('snapshot_rows.observation_date', horizon) }}
        then 1 else 0 end as churned_within_horizon,
    case when labels.won_expansion = 1 or labels.max_seats_in_horizon > snapshot_rows.seats then 1 else 0 end
        as expanded_within_horizon,
    {{ horizon }} as label_horizon_days,
    {{ add_days('snapshot_rows.observation_date', horizon) }} <= clock.as_of_date as label_is_complete,
    -- (still a customer after the day: the churn date may have become known since the row was built)
    snapshot_rows.is_open_row and (lifetimes.churn_date is null or lifetimes.churn_date > snapshot_rows.observation_date)
        as is_open_row
    {%- if is_incremental() %}{% for column in relabelled_columns %},
    snapshot_rows.stored_{{ column }}{% endfor %}{% endif %}
from snapshot_rows
cross join clock
inner join lifetimes on snapshot_rows.account_id = lifetimes.account_id
left join labels on snapshot_rows.account_id = labels.account_id and snapshot_rows.observation_date = labels.observation_date
)

select {{ (feature_columns + relabelled_columns) | join(', ') }}
from labelled
{% if is_incremental() %}
where observation_date >= {{ features_from }}
    {% for column in relabelled_columns %}or {{ column }} is distinct from stored_{{ column }}
    {% endfor %}
{% endif %}
