-- One row per CRM account: the record that stands for it in support, billing and the product,
-- and how each link was made (explicit id or domain).
select
    account_id,
    account_name,
    website_domain,
    zendesk_organization_id,
    zendesk_match_method,
    stripe_customer_id,
    stripe_match_method,
    workspace_id,
    workspace_match_method
from {{ ref('int_accounts_joined_across_systems') }}
