with source as (
    {{ select_source('raw_zendesk', 'tickets') }}
),

tags as (
    {{ select_source('raw_zendesk', 'tickets', child='tags') }}
),

ticket_tags as (
    select
        _dlt_parent_id,
        max(case when value = 'bug' then 1 else 0 end) as is_bug,
        max(case when value = 'feature-request' then 1 else 0 end) as is_feature_request,
        max(case when value = 'billing' then 1 else 0 end) as is_billing,
        max(case when value = 'outage' then 1 else 0 end) as is_outage,
        max(case when value = 'cancellation' then 1 else 0 end) as is_cancellation
    from tags
    group by _dlt_parent_id
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        deduped.id as ticket_id,
        deduped.organization_id,
        deduped.requester_id as requester_zendesk_user_id,
        deduped.assignee_id as assignee_zendesk_user_id,
        deduped.subject,
        deduped.type as ticket_type,
        coalesce(deduped.priority, 'normal') as priority,
        deduped.status,
        deduped.status in ('new', 'open', 'pending', 'hold') as is_open,
        coalesce(ticket_tags.is_bug, 0) = 1 as is_bug,
        coalesce(ticket_tags.is_feature_request, 0) = 1 as is_feature_request,
        coalesce(ticket_tags.is_billing, 0) = 1 as is_billing,
        coalesce(ticket_tags.is_outage, 0) = 1 as is_outage,
        coalesce(ticket_tags.is_cancellation, 0) = 1 as is_cancellation,
        {{ to_utc('deduped.created_at') }} as created_at,
        {{ to_utc('deduped.updated_at') }} as updated_at
    from deduped
    left join ticket_tags on deduped._dlt_id = ticket_tags._dlt_parent_id
    -- Deleted tickets (status "deleted") are spam or mistakes, not support demand.
    where deduped.row_num = 1
        and coalesce(deduped.status, '') <> 'deleted'
)

select * from renamed
