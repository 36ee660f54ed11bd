-- One row per customer: the 360 with today's churn and expansion scores and the links to its pages.
-- An account that gave notice has announced its churn: as in the CRM (crm_account_fields), it has no
-- churn probability (nor expected loss from one), its tier is 'Notice given' and `notice` says when
-- notice was given and when the contract ends.
-- Ids stay VARCHAR (Evidence would turn numbers into doubles and links into /accounts/?id=101.0).
select
    c.account_id,
    c.account_name,
    c.segment,
    c.industry,
    c.csm_user_id,
    coalesce(c.csm_name, '(no CSM)') as csm_name,
    c.plan,
    c.seats,
    c.active_users_30d,
    c.seat_utilisation,
    c.arr,
    c.arr_90d_ago,
    c.arr_change_90d,
    c.customer_since_date,
    c.next_renewal_date,
    c.notice_given,
    coalesce(c.lifecycle_state = 'notice_given', false) as has_notice,
    c.notice_given_on,
    c.notice_ends_on,
    case when c.lifecycle_state = 'notice_given' then
        'Notice given on ' || coalesce(strftime(c.notice_given_on, '%Y-%m-%d'), 'an unknown day')
        || coalesce(', contract ends ' || strftime(c.notice_ends_on, '%Y-%m-%d'), '')
        || ': save play (announced churn, no churn risk)'
    end as notice,
    c.subscription_status,
    c.open_tickets,
    c.tickets_90d,
    c.payment_failures_90d,
    c.overdue_invoices,
    c.champion_name,
    c.champion_email,
    c.champion_status,
    c.health_score,
    coalesce(c.health_tier, 'Unknown') as health_tier,
    c.health_trend,
    c.health_score_change_30d,
    c.top_risk_drivers,
    c.expansion_score,
    c.expansion_reason,
    c.as_of_date,
    s.scored_on,
    case when c.lifecycle_state is distinct from 'notice_given' then s.churn_probability end as churn_probability,
    case when c.lifecycle_state = 'notice_given' then 'Notice given' else s.churn_risk_tier end as churn_risk_tier,
    case when c.lifecycle_state is distinct from 'notice_given' then s.churn_probability * c.arr end
        as expected_arr_loss,
    s.expansion_propensity,
    s.driver_1,
    s.driver_2,
    s.driver_3,
    concat_ws('; ', s.driver_1, s.driver_2, s.driver_3) as drivers,
    '/accounts/?id=' || c.account_id as account_link,
    '/csms/' || c.csm_user_id || '/' as csm_link
from marts.customer_360 as c
left join ml.account_scores_latest as s on s.account_id = c.account_id
