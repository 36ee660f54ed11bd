{#-
    A CRM's contacts as the product names them: the latest loaded version of each (the loaders merge
    on id, so a record may arrive again), with its staging columns. `stg_salesforce__contacts` and
    `stg_hubspot__contacts` read the live ones; the contacts' history (`snap_salesforce__contacts`)
    reads them with the deleted ones (`with_deleted`: an `is_deleted` column, deletes kept), as
    versions. Only the named CRM's source is read: a model calls it with one CRM, never both.
    `columns` picks (and orders) the columns of the final select; default all of them.
-#}
{% macro crm_contacts(crm, with_deleted=false, columns=none) -%}
{%- if crm == 'hubspot' -%}
    {%- set raw = select_source('raw_hubspot', 'contacts') -%}
    {%- set stamp, deleted = 'updated_at', 'archived' -%}
    {#- HubSpot: the account is the contact's primary company; archived records are the deletes. -#}
    {%- set expressions = {
        'contact_id': 'id',
        'account_id': 'associatedcompanyid',
        'first_name': 'firstname',
        'last_name': 'lastname',
        'email': 'lower(trim(email))',
        'email_domain': domain_of('email'),
        'title': 'jobtitle',
        'is_champion': 'coalesce(is_champion, false)',
        'has_left_company': 'coalesce(left_company, false)',
        'created_at': to_utc('created_at'),
        'last_modified_at': to_utc('updated_at'),
        'system_modstamp_at': to_utc('updated_at'),
    } -%}
{%- elif crm == 'salesforce' -%}
    {%- set raw = select_source('raw_salesforce', 'contact') -%}
    {%- set stamp, deleted = 'system_modstamp', 'is_deleted' -%}
    {#- Salesforce deletes softly (queryAll returns the deleted rows): merged duplicates, not people of the account any more. -#}
    {%- set expressions = {
        'contact_id': 'id',
        'account_id': 'account_id',
        'first_name': 'first_name',
        'last_name': 'last_name',
        'email': 'lower(trim(email))',
        'email_domain': domain_of('email'),
        'title': 'title',
        'is_champion': 'coalesce(is_champion__c, false)',
        'has_left_company': 'coalesce(left_company__c, false)',
        'created_at': to_utc('created_date'),
        'last_modified_at': to_utc('last_modified_date'),
        'system_modstamp_at': to_utc('system_modstamp'),
    } -%}
{%- else -%}
    {{ exceptions.raise_compiler_error("crm_contacts: unknown CRM '" ~ crm ~ "'") }}
{%- endif -%}
{%- if with_deleted -%}
    {%- do expressions.update({'is_deleted': 'coalesce(' ~ deleted ~ ', false)'}) -%}
{%- endif -%}
with source as (
    {{ raw }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by {{ stamp }} desc, _dlt_load_id desc) as row_num
    from source
)

select
{%- for name in (columns or expressions.keys() | list) %}
    {{ expressions[name] }} as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
from deduped
where row_num = 1
{%- if not with_deleted %}
    and not coalesce({{ deleted }}, false)
{%- endif %}
{%- endmacro %}
