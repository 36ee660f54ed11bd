-- One row per CSM: their book.
select
    c.csm_user_id,
    coalesce(c.csm_name, '(no CSM)') as csm_name,
    count(*) as accounts,
    sum(c.arr) as arr,
    sum(case when s.churn_risk_tier in ('High', 'Notice given') or c.health_tier = 'Red' then c.arr else 0 end)
        as at_risk_arr,
    count(*) filter (where c.health_tier = 'Red') as red_accounts,
    -- predicted loss only: an account that gave notice has no churn probability (announced churn)
    sum(case when c.lifecycle_state is distinct from 'notice_given' then s.churn_probability * c.arr end)
        as expected_arr_loss,
    '/csms/' || c.csm_user_id || '/' as csm_link
from marts.customer_360 as c
left join ml.account_scores_latest as s using (account_id)
where c.arr > 0 and c.csm_user_id is not null
group by c.csm_user_id, c.csm_name
