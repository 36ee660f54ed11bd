-- What the CRM's account record holds about each current customer: the health score and tier, the
-- churn risk in percent, the reasons in words, the expansion score, and when it was scored. Before
-- the models have scored an account, its churn risk and reasons come from the health score alone.
-- An account that gave notice (lifecycle state 'notice_given') has announced its churn: no churn
-- risk is written for it (a probability would read as a prediction of what the customer already
-- said), and its reasons start with the notice and the contract's end, the save play's facts.
-- The sync sends a row when any value but `scored_at` changed (a rescoring that moves no number
-- sends nothing); the reports show the same values CSMs see in the CRM.
with customers as (
    select * from {{ ref('customer_360') }}
),

scores as (
    {{ select_source('ml', 'account_scores_latest') }}
)

select
    c.account_id,
    round(c.health_score, 1) as health_score,
    c.health_tier,
    case when coalesce(c.lifecycle_state, '') <> 'notice_given' then round(100 * s.churn_probability, 1) end as churn_risk_percent,
    nullif(concat_ws(chr(10),
        case when c.lifecycle_state = 'notice_given' then {{ dbt.concat([
            "'Notice given on '", "coalesce(cast(c.notice_given_on as " ~ dbt.type_string() ~ "), 'an unknown day')",
            "case when c.notice_ends_on is not null then " ~ dbt.concat(["', contract ends '", "cast(c.notice_ends_on as " ~ dbt.type_string() ~ ")"]) ~ " else '' end",
            "': save play (announced churn, no churn risk)'"]) }} end,
        coalesce(
            nullif(concat_ws(chr(10), nullif(s.driver_1, ''), nullif(s.driver_2, ''), nullif(s.driver_3, '')), ''),
            c.top_risk_drivers
        )
    ), '') as risk_drivers,
    round(coalesce(100 * s.expansion_propensity, c.expansion_score), 1) as expansion_score,
    coalesce(s.scored_at, cast(c.as_of_date as timestamp)) as scored_at
from customers as c
left join scores as s on s.account_id = c.account_id
