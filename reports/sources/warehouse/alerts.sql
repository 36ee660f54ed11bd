-- Every alert, with its account and age in days (from the data clock).
select
    a.alert_id,
    a.account_id,
    c.account_name,
    c.arr,
    a.rule_id,
    a.severity,
    case a.severity when 'high' then 1 when 'medium' then 2 else 3 end as severity_rank,
    a.status,
    a.status in ('open', 'sent', 'acknowledged') as is_open,
    a.opened_on,
    a.last_fired_on,
    a.closed_at,
    datediff('day', a.opened_on, c.as_of_date) as age_days,
    a.outcome,
    a.message,
    a.owner_user_id,
    coalesce(a.owner_name, '(no owner)') as owner_name,
    a.salesforce_task_id,
    '/accounts/?id=' || a.account_id as account_link
from alerts.alerts as a
left join marts.customer_360 as c using (account_id)
