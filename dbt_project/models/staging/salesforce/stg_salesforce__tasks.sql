{{ config(enabled=var('crm', 'salesforce') == 'salesforce') }}
with source as (
    {{ select_source('raw_salesforce', 'task') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc) as row_num
    from source
),

renamed as (
    select
        id as task_id,
        what_id as account_id,
        owner_id as owner_user_id,
        subject,
        status,
        priority,
        activity_date as due_date,
        copilot_alert_id__c as copilot_alert_id,
        copilot_outcome__c as copilot_outcome,
        {{ to_utc('created_date') }} as created_at,
        {{ to_utc('system_modstamp') }} as system_modstamp_at
    from deduped
    where row_num = 1
        and not coalesce(is_deleted, false)
)

select * from renamed
