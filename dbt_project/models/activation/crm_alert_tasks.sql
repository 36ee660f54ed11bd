-- One CRM task per live alert (open, sent or acknowledged), owned by the account's CSM: the rule
-- in words as its subject, the alert's message, a priority and a due date by severity (high: 3
-- days, medium: 7, low: 14 after the alert opened). Status and outcome are the CSM's and never
-- sent, so an updated message does not reopen a task.
with alerts as (
    select * from ({{ select_source('alerts', 'alerts') }}) as lifecycle
    where status in ('open', 'sent', 'acknowledged')
)

select
    alert_id,
    account_id,
    owner_user_id,
    'Copilot alert: ' || replace(rule_id, '_', ' ') as subject,
    message as description,
    case severity when 'high' then 'High' when 'low' then 'Low' else 'Normal' end as priority,
    {{ add_days('opened_on', "case severity when 'high' then 3 when 'low' then 14 else 7 end") }} as due_date
from alerts
