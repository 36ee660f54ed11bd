with source as (
    {{ select_source('raw_zendesk', 'organizations') }}
),

domains as (
    {{ select_source('raw_zendesk', 'organizations', child='domain_names') }}
),

first_domain as (
    select
        _dlt_parent_id,
        min(case when _dlt_list_idx = 0 then lower(trim(value)) end) as primary_domain,
        count(*) as domain_count
    from domains
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
        deduped.id as organization_id,
        deduped.name as organization_name,
        nullif(trim(deduped.external_id), '') as external_id,
        {{ domain_of('first_domain.primary_domain') }} as primary_domain,
        coalesce(first_domain.domain_count, 0) as domain_count,
        deduped.organization_fields__plan as plan,
        {{ to_utc('deduped.created_at') }} as created_at,
        {{ to_utc('deduped.updated_at') }} as updated_at
    from deduped
    left join first_domain on deduped._dlt_id = first_domain._dlt_parent_id
    where deduped.row_num = 1
)

select * from renamed
