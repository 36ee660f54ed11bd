-- Every alert, with its account, age in days (from the data clock) and, while it is live, the due
-- date of its CRM task (the outbound view the reverse ETL sends).
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
    t.due_date as task_due_date,
    '/accounts/?id=' || a.account_id as account_link
from alerts.alerts as a
left join marts.customer_360 as c using (account_id)
left join activation.crm_alert_tasks as t using (alert_id)
