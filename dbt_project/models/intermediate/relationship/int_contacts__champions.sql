-- The champion contacts the CRM knows, with the email forms the product may show for them
-- (the CRM keeps jsmith@ where the product signs people in as john.smith@), and when the CRM
-- learned that they left (the flag's last modification: a later edit can only move it later).
with contacts as (
    select * from {{ ref('stg_salesforce__contacts') }}
    where is_champion
)

select
    contact_id,
    account_id,
    email,
    lower({{ ascii_fold('first_name') }}) || '.' || lower({{ ascii_fold('last_name') }}) || '@' || email_domain
        as product_email,
    -- Is_Champion__c has no history: a current champion may have been promoted at its last
    -- modification, so it counts from then (a departed one from its creation: its last change was
    -- the departure flag). Conservative, and it keeps later CRM edits out of earlier days.
    cast(case when has_left_company then created_at else last_modified_at end as date) as known_since_date,
    case when has_left_company then cast(last_modified_at as date) end as left_flagged_date
from contacts
