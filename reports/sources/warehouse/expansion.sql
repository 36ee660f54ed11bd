-- Expansion candidates: the model's propensity with the signals behind it.
select
    e.account_id,
    c.account_name,
    c.segment,
    c.csm_name,
    c.arr,
    s.expansion_propensity,
    e.expansion_score,
    e.expansion_reason,
    e.seat_utilisation,
    e.active_users_growth_90d,
    e.user_invites_30d,
    e.open_expansion_amount,
    '/accounts/?id=' || e.account_id as account_link
from marts.expansion_signals as e
join marts.customer_360 as c using (account_id)
left join ml.account_scores_latest as s using (account_id)
where c.arr > 0
