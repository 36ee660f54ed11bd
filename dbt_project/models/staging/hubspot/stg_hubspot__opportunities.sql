{{ config(enabled=var('crm', 'salesforce') == 'hubspot') }}
-- HubSpot deals in the shape of stg_salesforce__opportunities. A deal's account is its primary
-- company (association type 5); deal types and stages carry the labels the marts filter on.
with source as (
    {{ select_source('raw_hubspot', 'deals') }}
),

associations as (
    {{ select_source('raw_hubspot', 'associations') }}
),

primary_company as (
    select from_id as deal_id, min(to_id) as account_id
    from associations
    where from_type = 'deals' and to_type = 'companies' and type_id = 5
    group by from_id
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
),

renamed as (
    select
        deduped.id as opportunity_id,
        primary_company.account_id,
        dealname as opportunity_name,
        case dealtype
            when 'newbusiness' then 'New Business'
            when 'renewal' then 'Renewal'
            when 'expansion' then 'Expansion'
            when 'existingbusiness' then 'Expansion'
        end as opportunity_type,
        case dealstage
            when 'appointmentscheduled' then 'Prospecting'
            when 'qualifiedtobuy' then 'Qualification'
            when 'presentationscheduled' then 'Proposal'
            when 'decisionmakerboughtin' then 'Proposal'
            when 'contractsent' then 'Negotiation'
            when 'closedwon' then 'Closed Won'
            when 'closedlost' then 'Closed Lost'
            else dealstage
        end as stage_name,
        cast(amount as {{ type_double() }}) as amount,
        cast({{ to_utc('closedate') }} as date) as close_date,
        coalesce(hs_is_closed, false) as is_closed,
        coalesce(hs_is_closed_won, false) as is_won,
        hubspot_owner_id as owner_user_id,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as last_modified_at,
        {{ to_utc('updated_at') }} as system_modstamp_at
    from deduped
    left join primary_company on primary_company.deal_id = deduped.id
    where row_num = 1
        and not coalesce(archived, false)
)

select * from renamed
