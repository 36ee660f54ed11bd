-- Everything identity resolution could not place, and why: support organizations, billing
-- customers and product workspaces that belong to no CRM account, and customers in the CRM that
-- have no record in a system. Data stewards work this list; the health score re-weights around
-- the gaps meanwhile.
with unlinked_records as (
    select
        identity_record_key as unmatched_record_key,
        source_system,
        record_type,
        record_id,
        record_name,
        domain,
        unmatched_reason
    from {{ ref('int_identity__links') }}
    where account_id is null
),

accounts as (
    select accounts.account_id, accounts.account_name, accounts.website_domain, accounts.is_customer,
        joined.zendesk_organization_id, joined.stripe_customer_id, joined.workspace_id
    from {{ ref('stg_crm__accounts') }} as accounts
    inner join {{ ref('int_accounts_joined_across_systems') }} as joined on accounts.account_id = joined.account_id
    where accounts.is_customer
),

customers_without as (
    {% for system, column, what in [
        ('zendesk', 'zendesk_organization_id', 'support organization'),
        ('stripe', 'stripe_customer_id', 'billing customer'),
        ('product', 'workspace_id', 'product workspace')] %}
    select
        '{{ crm() }}:{{ system }}:' || account_id as unmatched_record_key,
        '{{ crm() }}' as source_system,
        'account' as record_type,
        account_id as record_id,
        account_name as record_name,
        website_domain as domain,
        'customer account has no {{ what }}: no record carries its id and none matches domain '
            || coalesce(website_domain, '(no website)') as unmatched_reason
    from accounts
    where {{ column }} is null
    {{ "union all" if not loop.last }}
    {% endfor %}
)

select * from unlinked_records
union all
select * from customers_without
