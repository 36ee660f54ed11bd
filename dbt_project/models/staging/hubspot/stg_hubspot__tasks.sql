{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot tasks in the shape of stg_salesforce__tasks; the account is the associated company.
with source as (
    {{ select_source('raw_hubspot', 'tasks') }}
),

associations as (
    {{ select_source('raw_hubspot', 'associations') }}
),

company as (
    select from_id as task_id, min(to_id) as account_id
    from associations
    where from_type = 'tasks' and to_type = 'companies'
    group by from_id
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc) as row_num
    from source
),

renamed as (
    select
        deduped.id as task_id,
        company.account_id,
        hubspot_owner_id as owner_user_id,
        hs_task_subject as subject,
        case hs_task_status
            when 'NOT_STARTED' then 'Not Started'
            when 'IN_PROGRESS' then 'In Progress'
            when 'WAITING' then 'In Progress'
            when 'DEFERRED' then 'Not Started'
            when 'COMPLETED' then 'Completed'
        end as status,
        case hs_task_priority
            when 'HIGH' then 'High'
            when 'MEDIUM' then 'Normal'
            when 'LOW' then 'Low'
        end as priority,
        cast({{ to_utc('hs_timestamp') }} as date) as due_date,
        copilot_alert_id,
        copilot_outcome,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as system_modstamp_at
    from deduped
    left join company on company.task_id = deduped.id
    where row_num = 1
        and not coalesce(archived, false)
)

select * from renamed
