-- CRM contacts of the customers, champion first.
select
    ct.account_id,
    trim(concat_ws(' ', ct.first_name, ct.last_name)) as contact_name,
    ct.email,
    ct.title,
    ct.is_champion,
    ct.has_left_company
from staging.stg_crm__contacts as ct
join marts.customer_360 as c on c.account_id = ct.account_id
