-- Renewals in the next 180 days with the churn model's probability: the risk-weighted forecast
-- expects arr_at_stake x (1 - churn probability) to renew (0 when notice was given: announced churn,
-- shown without a churn probability, as in the CRM).
select
    r.account_id,
    r.account_name,
    r.segment,
    c.csm_name,
    r.renewal_date,
    r.days_to_renewal,
    case when r.days_to_renewal <= 30 then '0-30 days' when r.days_to_renewal <= 90 then '31-90 days'
         else '91-180 days' end as renewal_window,
    r.arr_at_stake,
    r.renewal_stage,
    r.notice_given,
    coalesce(r.health_tier, 'Unknown') as health_tier,
    r.renewal_risk,
    case when not coalesce(r.notice_given or c.lifecycle_state = 'notice_given', false) then s.churn_probability end
        as churn_probability,
    case when r.notice_given then 0 else r.arr_at_stake * (1 - coalesce(s.churn_probability, 0)) end
        as expected_renewal_arr,
    '/accounts/?id=' || r.account_id as account_link
from marts.renewals as r
left join marts.customer_360 as c using (account_id)
left join ml.account_scores_latest as s using (account_id)
where r.days_to_renewal between 0 and 180
