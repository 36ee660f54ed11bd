with source as (
    {{ select_source('raw_copilot_app', 'alert_feedback') }}
)

select
    feedback_id,
    alert_id,
    account_id,
    rule_id,
    action,
    case when action = 'outcome' then 'Completed' else 'In Progress' end as task_status,
    case when action = 'outcome' then outcome end as copilot_outcome,
    note,
    snoozed_until,
    recorded_by_user_id,
    recorded_at
from source
