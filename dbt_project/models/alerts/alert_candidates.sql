-- Every enabled alert rule evaluated on the data's current day: one row per account and rule that
-- fires, with the owner (the account's CSM; none without one: the lifecycle gives those alerts the
-- deployment's default owner, `[alerts] default_owner_user_id` in .dlt/config.toml)
-- and the message rendered from the rule's template with the numbers that made it fire.
-- Opening, de-duplicating, cooling down and closing alerts is the alert lifecycle's job
-- (alerts/lifecycle.py), which reads this table.
--
-- The model-driven rules read ml.account_scores. Before any model has scored (a fresh warehouse,
-- or ML switched off) the table does not exist: those rules then simply do not fire.
{% set scores_source = source('ml', 'account_scores') %}
{% set scores_relation = adapter.get_relation(
    database=scores_source.database, schema=scores_source.schema, identifier=scores_source.identifier) if execute else none %}
{% set scores_exist = scores_relation is not none %}
{# Scores written before the base rate was kept have none: churn_risk_high waits for the next scoring. #}
{% set has_base_rate = scores_exist and 'churn_base_rate' in (adapter.get_columns_in_relation(scores_relation)
    | map(attribute='name') | map('lower') | list) %}

with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

rules as (
    select * from {{ ref('alert_rule_config') }} where enabled
),

accounts as (
    select
        account_id, csm_user_id, csm_name, health_score, health_tier, health_score_change_30d,
        next_renewal_date, payment_failures_90d, overdue_invoices, champion_name, expansion_reason,
        lifecycle_state, notice_given_on, notice_ends_on
    from {{ ref('customer_360') }}
),

-- Only the days the rules compare: the as-of day and the window_days before it. Without the
-- filter every rule's join read each account's whole history (at L 12 M rows: 2.0 s -> 0.4 s).
activity as (
    select account_id, activity_date, active_users_30d, champions_flagged_left, high_priority_tickets_opened
    from {{ ref('account_daily_activity') }}
    where activity_date >= (
        select min({{ add_days('clock.as_of_date', '-coalesce(rules.window_days, 0)') }}) from rules cross join clock
    )
),

scores as (
    {% if scores_exist %}
    select account_id, scored_on, churn_probability, expansion_propensity, driver_1,
        {{ 'churn_base_rate' if has_base_rate else 'cast(null as ' ~ type_double() ~ ')' }} as churn_base_rate
    from {{ scores_source }}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as date) as scored_on,
        cast(null as {{ type_double() }}) as churn_probability,
        cast(null as {{ type_double() }}) as expansion_propensity,
        cast(null as {{ dbt.type_string() }}) as driver_1,
        cast(null as {{ type_double() }}) as churn_base_rate
    where 1 = 0
    {% endif %}
),

latest_scores as (
    select scores.*
    from scores
    cross join clock
    where scored_on = (select max(s.scored_on) from scores as s cross join clock as c where s.scored_on <= c.as_of_date)
),

usage_drop as (
    select
        accounts.account_id,
        rules.rule_id,
        1 - now.active_users_30d / cast(before.active_users_30d as {{ type_double() }}) as metric_value,
        {{ whole_percent_text('1 - now.active_users_30d / cast(before.active_users_30d as ' ~ type_double() ~ ')') }} as v_value,
        cast(before.active_users_30d as {{ dbt.type_string() }}) as v_previous,
        cast(now.active_users_30d as {{ dbt.type_string() }}) as v_current,
        cast(null as {{ dbt.type_string() }}) as v_detail
    from rules
    cross join clock
    inner join accounts on true
    inner join activity as now on now.account_id = accounts.account_id and now.activity_date = clock.as_of_date
    inner join activity as before
        on before.account_id = accounts.account_id
        and before.activity_date = {{ add_days('clock.as_of_date', '-rules.window_days') }}
    where rules.rule_type = 'usage_drop'
        and before.active_users_30d >= coalesce(rules.threshold_2, 1)
        and 1 - now.active_users_30d / cast(before.active_users_30d as {{ type_double() }}) >= rules.threshold
),

champion_left as (
    select
        accounts.account_id,
        rules.rule_id,
        cast(now.champions_flagged_left - before.champions_flagged_left as {{ type_double() }}) as metric_value,
        cast(now.champions_flagged_left - before.champions_flagged_left as {{ dbt.type_string() }}) as v_value,
        cast(before.champions_flagged_left as {{ dbt.type_string() }}) as v_previous,
        cast(now.champions_flagged_left as {{ dbt.type_string() }}) as v_current,
        coalesce(accounts.champion_name, 'named in the CRM') as v_detail
    from rules
    cross join clock
    inner join accounts on true
    inner join activity as now on now.account_id = accounts.account_id and now.activity_date = clock.as_of_date
    inner join activity as before
        on before.account_id = accounts.account_id
        and before.activity_date = {{ add_days('clock.as_of_date', '-rules.window_days') }}
    where rules.rule_type = 'champion_left'
        and now.champions_flagged_left - before.champions_flagged_left >= rules.threshold
),

payment_issue as (
    select
        accounts.account_id,
        rules.rule_id,
        cast(accounts.payment_failures_90d + accounts.overdue_invoices as {{ type_double() }}) as metric_value,
        cast(accounts.payment_failures_90d + accounts.overdue_invoices as {{ dbt.type_string() }}) as v_value,
        cast(accounts.overdue_invoices as {{ dbt.type_string() }}) as v_previous,
        cast(accounts.payment_failures_90d as {{ dbt.type_string() }}) as v_current,
        cast(null as {{ dbt.type_string() }}) as v_detail
    from rules
    inner join accounts on true
    where rules.rule_type = 'payment_issue'
        and (accounts.payment_failures_90d >= rules.threshold or accounts.overdue_invoices >= coalesce(rules.threshold_2, 1))
),

red_near_renewal as (
    select
        accounts.account_id,
        rules.rule_id,
        cast({{ dbt.datediff('clock.as_of_date', 'accounts.next_renewal_date', 'day') }} as {{ type_double() }}) as metric_value,
        cast({{ dbt.datediff('clock.as_of_date', 'accounts.next_renewal_date', 'day') }} as {{ dbt.type_string() }}) as v_value,
        cast(null as {{ dbt.type_string() }}) as v_previous,
        cast(round(accounts.health_score, 1) as {{ dbt.type_string() }}) as v_current,
        cast(accounts.next_renewal_date as {{ dbt.type_string() }}) as v_detail
    from rules
    cross join clock
    inner join accounts on true
    where rules.rule_type = 'red_near_renewal'
        and accounts.health_tier = 'Red'
        and accounts.next_renewal_date >= clock.as_of_date
        and {{ dbt.datediff('clock.as_of_date', 'accounts.next_renewal_date', 'day') }} <= rules.threshold
),

ticket_counts as (
    select activity.account_id, rules.rule_id, sum(activity.high_priority_tickets_opened) as tickets
    from rules
    cross join clock
    inner join activity
        on activity.activity_date > {{ add_days('clock.as_of_date', '-rules.window_days') }}
        and activity.activity_date <= clock.as_of_date
    where rules.rule_type = 'ticket_surge'
    group by activity.account_id, rules.rule_id
),

ticket_surge as (
    select
        ticket_counts.account_id,
        rules.rule_id,
        cast(ticket_counts.tickets as {{ type_double() }}) as metric_value,
        cast(ticket_counts.tickets as {{ dbt.type_string() }}) as v_value,
        cast(null as {{ dbt.type_string() }}) as v_previous,
        cast(ticket_counts.tickets as {{ dbt.type_string() }}) as v_current,
        cast(null as {{ dbt.type_string() }}) as v_detail
    from ticket_counts
    inner join rules on rules.rule_id = ticket_counts.rule_id
    where ticket_counts.tickets >= rules.threshold
),

health_score_fall as (
    select
        accounts.account_id,
        rules.rule_id,
        -accounts.health_score_change_30d as metric_value,
        cast(round(-accounts.health_score_change_30d, 1) as {{ dbt.type_string() }}) as v_value,
        cast(round(accounts.health_score - accounts.health_score_change_30d, 1) as {{ dbt.type_string() }}) as v_previous,
        cast(round(accounts.health_score, 1) as {{ dbt.type_string() }}) as v_current,
        cast(null as {{ dbt.type_string() }}) as v_detail
    from rules
    inner join accounts on true
    where rules.rule_type = 'health_score_fall'
        and -accounts.health_score_change_30d >= rules.threshold
),

-- Announced churn: the customer gave notice (cancellation at period end). A save play for the CSM,
-- raised while at least `threshold` days remain before the subscription ends; the lifecycle keeps
-- one alert per account and rule, and a cooldown longer than a billing period stops a closed one
-- from reopening for the same notice.
notice_save_play as (
    select
        accounts.account_id,
        rules.rule_id,
        cast({{ dbt.datediff('clock.as_of_date', 'accounts.notice_ends_on', 'day') }} as {{ type_double() }}) as metric_value,
        cast({{ dbt.datediff('clock.as_of_date', 'accounts.notice_ends_on', 'day') }} as {{ dbt.type_string() }}) as v_value,
        cast(accounts.notice_given_on as {{ dbt.type_string() }}) as v_previous,
        cast(accounts.notice_ends_on as {{ dbt.type_string() }}) as v_current,
        cast(null as {{ dbt.type_string() }}) as v_detail
    from rules
    cross join clock
    inner join accounts on true
    where rules.rule_type = 'notice_save_play'
        and accounts.lifecycle_state = 'notice_given'
        and (accounts.notice_ends_on is null
            or {{ dbt.datediff('clock.as_of_date', 'accounts.notice_ends_on', 'day') }} >= rules.threshold)
),

-- The model-driven churn rules leave out accounts that gave notice: theirs is the save play above.
-- churn_risk_high is relative to the company's own churn: it fires from `threshold` times the churn
-- model's base rate (the share of training rows that churned, kept with every score), so the default
-- 5 is the High risk tier of ml/config.yml (risk_tiers.high_vs_base_rate) on any company's data.
churn_risk_high as (
    select
        latest_scores.account_id,
        rules.rule_id,
        latest_scores.churn_probability / latest_scores.churn_base_rate as metric_value,
        cast(round(latest_scores.churn_probability / latest_scores.churn_base_rate, 1) as {{ dbt.type_string() }}) as v_value,
        cast(round(100 * latest_scores.churn_base_rate, 1) as {{ dbt.type_string() }}) as v_previous,
        {{ whole_percent_text('latest_scores.churn_probability') }} as v_current,
        coalesce(latest_scores.driver_1, 'see the risk drivers on the account') as v_detail
    from rules
    inner join latest_scores
        on latest_scores.churn_base_rate > 0
        and latest_scores.churn_probability >= rules.threshold * latest_scores.churn_base_rate
    left join accounts on accounts.account_id = latest_scores.account_id
    where rules.rule_type = 'churn_risk_high'
        and coalesce(accounts.lifecycle_state, '') <> 'notice_given'
),

previous_scores as (
    -- per rule, each account's latest score at least window_days before the latest one
    select scores.account_id, rules.rule_id, scores.churn_probability,
        row_number() over (partition by scores.account_id, rules.rule_id order by scores.scored_on desc) as recency
    from rules
    inner join scores on true
    where rules.rule_type = 'churn_risk_jump'
        and scores.scored_on <= {{ add_days('(select max(scored_on) from latest_scores)', '-rules.window_days') }}
),

churn_risk_jump as (
    select
        latest_scores.account_id,
        rules.rule_id,
        latest_scores.churn_probability - previous_scores.churn_probability as metric_value,
        {{ whole_percent_text('latest_scores.churn_probability - previous_scores.churn_probability') }} as v_value,
        {{ whole_percent_text('previous_scores.churn_probability') }} as v_previous,
        {{ whole_percent_text('latest_scores.churn_probability') }} as v_current,
        coalesce(latest_scores.driver_1, 'see the risk drivers on the account') as v_detail
    from previous_scores
    inner join rules on rules.rule_id = previous_scores.rule_id
    inner join latest_scores on latest_scores.account_id = previous_scores.account_id
    left join accounts on accounts.account_id = latest_scores.account_id
    where previous_scores.recency = 1
        and coalesce(accounts.lifecycle_state, '') <> 'notice_given'
        and latest_scores.churn_probability - previous_scores.churn_probability >= rules.threshold
),

expansion_opportunity as (
    select
        latest_scores.account_id,
        rules.rule_id,
        latest_scores.expansion_propensity as metric_value,
        {{ whole_percent_text('latest_scores.expansion_propensity') }} as v_value,
        cast(null as {{ dbt.type_string() }}) as v_previous,
        {{ whole_percent_text('latest_scores.expansion_propensity') }} as v_current,
        coalesce(accounts.expansion_reason, 'usage and seats point to room to grow') as v_detail
    from rules
    inner join latest_scores on latest_scores.expansion_propensity >= rules.threshold
    left join accounts on accounts.account_id = latest_scores.account_id
    where rules.rule_type = 'expansion_opportunity'
),

fired as (
    select * from usage_drop
    union all select * from champion_left
    union all select * from payment_issue
    union all select * from red_near_renewal
    union all select * from ticket_surge
    union all select * from health_score_fall
    union all select * from churn_risk_high
    union all select * from churn_risk_jump
    union all select * from expansion_opportunity
    union all select * from notice_save_play
),

-- Probabilities read as percentages in messages, everything else (churn_risk_high's multiple of the
-- base rate too) as configured.
rendered as (
    select
        fired.*,
        rules.rule_type,
        rules.severity,
        case when rules.rule_type in ('churn_risk_jump', 'expansion_opportunity', 'usage_drop')
            then {{ whole_percent_text('rules.threshold') }}
            when rules.threshold = floor(rules.threshold)
            then cast(cast(rules.threshold as integer) as {{ dbt.type_string() }})
            else cast(rules.threshold as {{ dbt.type_string() }}) end as v_threshold,
        cast(coalesce(rules.window_days, 90) as {{ dbt.type_string() }}) as v_days,
        rules.message_template
    from fired
    inner join rules on rules.rule_id = fired.rule_id
)

select
    {{ dbt.concat(['rendered.account_id', "'|'", 'rendered.rule_id']) }} as candidate_id,
    rendered.account_id,
    rendered.rule_id,
    rendered.rule_type,
    rendered.severity,
    clock.as_of_date as fired_on,
    rendered.metric_value,
    replace(replace(replace(replace(replace(replace(rendered.message_template,
        '{value}', coalesce(rendered.v_value, '')),
        '{previous}', coalesce(rendered.v_previous, '')),
        '{current}', coalesce(rendered.v_current, '')),
        '{threshold}', coalesce(rendered.v_threshold, '')),
        '{days}', coalesce(rendered.v_days, '')),
        '{detail}', coalesce(rendered.v_detail, '')) as message,
    accounts.csm_user_id as owner_user_id,
    case when accounts.csm_user_id is not null then accounts.csm_name end as owner_name,
    accounts.health_tier
from rendered
cross join clock
-- only current customers get alerts (scores of churned accounts may linger in ml history)
inner join accounts on accounts.account_id = rendered.account_id
