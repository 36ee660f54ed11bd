-- One row per CRM account with its support organization, billing customer and product workspace.
with accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

links as (
    select * from {{ ref('int_identity__links') }}
    where account_id is not null
)

select
    accounts.account_id,
    accounts.account_name,
    accounts.website_domain,
    cast(zendesk.record_id as {{ dbt.type_bigint() }}) as zendesk_organization_id,
    zendesk.match_method as zendesk_match_method,
    stripe.record_id as stripe_customer_id,
    stripe.match_method as stripe_match_method,
    coalesce(product.record_id, accounts.product_workspace_id) as workspace_id,
    case
        when product.record_id is not null then product.match_method
        when accounts.product_workspace_id is not null then 'crm_product_account_id (no events yet)'
    end as workspace_match_method
from accounts
left join links as zendesk on accounts.account_id = zendesk.account_id and zendesk.source_system = 'zendesk'
left join links as stripe on accounts.account_id = stripe.account_id and stripe.source_system = 'stripe'
left join links as product on accounts.account_id = product.account_id and product.source_system = 'product'
