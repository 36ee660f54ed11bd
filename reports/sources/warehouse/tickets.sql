-- Support tickets per account (through the identity map: Zendesk organization -> account).
select
    c.account_id,
    t.ticket_id::varchar as ticket_id,
    t.subject,
    t.priority,
    t.status,
    t.is_open,
    cast(t.created_at as timestamp) as created_at,
    cast(t.updated_at as timestamp) as updated_at
from staging.stg_zendesk__tickets as t
join marts.customer_360 as c on c.zendesk_organization_id = t.organization_id
