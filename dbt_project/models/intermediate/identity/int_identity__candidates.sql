-- Every way a support organization, billing customer or product workspace could belong to a CRM
-- account (a Salesforce Account or a HubSpot company, var `crm`), with the evidence: explicit ids
-- first, domains after. One row per record per system,
-- with the account it matches (if any) and, when it matches none, why.
with accounts as (
    select account_id, website_domain from {{ ref('stg_crm__accounts') }}
),

free_domains as (
    select lower(domain) as domain from {{ ref('free_email_domains') }}
),

-- A domain identifies an account only when exactly one account has it.
account_domains as (
    select
        website_domain as domain,
        min(account_id) as account_id,
        count(*) as account_count
    from accounts
    where website_domain is not null
    group by website_domain
),

organizations as (
    select
        'zendesk' as source_system,
        'organization' as record_type,
        cast(organization_id as {{ dbt.type_string() }}) as record_id,
        organization_name as record_name,
        external_id as explicit_account_id,
        primary_domain as domain,
        'external_id' as explicit_method,
        'domain' as domain_method
    from {{ ref('stg_zendesk__organizations') }}
),

customers as (
    select
        'stripe' as source_system,
        'customer' as record_type,
        stripe_customer_id as record_id,
        customer_name as record_name,
        {% if crm() == 'hubspot' -%}
        hubspot_company_id as explicit_account_id,
        email_domain as domain,
        'metadata_hubspot_company_id' as explicit_method,
        {%- else -%}
        salesforce_account_id as explicit_account_id,
        email_domain as domain,
        'metadata_salesforce_id' as explicit_method,
        {%- endif %}
        'email_domain' as domain_method
    from {{ ref('stg_stripe__customers') }}
),

workspaces as (
    select
        'product' as source_system,
        'workspace' as record_type,
        workspaces.workspace_id as record_id,
        workspaces.workspace_id as record_name,
        crm.account_id as explicit_account_id,
        workspaces.dominant_email_domain as domain,
        'crm_product_account_id' as explicit_method,
        'user_email_domain' as domain_method
    from {{ ref('int_product__workspaces') }} as workspaces
    -- The explicit id of a workspace lives on the CRM side (Account.Product_Account_Id__c; HubSpot's
    -- company property product_workspace_id).
    left join (
        select product_workspace_id, min(account_id) as account_id
        from {{ ref('stg_crm__accounts') }}
        where product_workspace_id is not null
        group by product_workspace_id
    ) as crm on workspaces.workspace_id = crm.product_workspace_id
),

records as (
    select * from organizations
    union all
    select * from customers
    union all
    select * from workspaces
),

resolved as (
    select
        records.*,
        explicit_account.account_id as explicit_match,
        case when free_domains.domain is null then account_domains.account_id end as domain_match,
        account_domains.account_count as domain_account_count,
        free_domains.domain is not null as is_free_email_domain
    from records
    left join accounts as explicit_account on records.explicit_account_id = explicit_account.account_id
    left join account_domains on records.domain = account_domains.domain
    left join free_domains on records.domain = free_domains.domain
)

select
    {{ dbt.concat(['source_system', "':'", 'record_id']) }} as identity_record_key,
    source_system,
    record_type,
    record_id,
    record_name,
    domain,
    case
        when explicit_match is not null then explicit_match
        when domain_match is not null and domain_account_count = 1 then domain_match
    end as candidate_account_id,
    case
        when explicit_match is not null then explicit_method
        when domain_match is not null and domain_account_count = 1 then domain_method
    end as match_method,
    case
        when explicit_match is not null or (domain_match is not null and domain_account_count = 1) then null
        when explicit_account_id is not null and domain is null
            then explicit_method || ' ' || explicit_account_id || ' is not a CRM account, and the record has no domain'
        when explicit_account_id is not null and domain_match is null
            then explicit_method || ' ' || explicit_account_id || ' is not a CRM account, and domain '
                || domain || ' matches no account'
        when domain is null then 'no ' || explicit_method || ' and no domain to match on'
        when is_free_email_domain then 'no ' || explicit_method || ', and ' || domain
            || ' is a free email domain, not a company'
        when domain_account_count > 1 then 'no ' || explicit_method || ', and domain ' || domain
            || ' matches ' || cast(domain_account_count as {{ dbt.type_string() }}) || ' CRM accounts'
        else 'no ' || explicit_method || ', and domain ' || domain || ' matches no CRM account'
    end as unmatched_reason
from resolved
