{#-
    The history of the CRM's contacts: Salesforce keeps only each record's current state (Is_Champion__c
    and Left_Company__c have no field history), and the loader merges on Id, so the raw table forgets
    every earlier value. This snapshot keeps them: each dbt build adds a version when a contact's
    SystemModstamp moved, valid from that stamp (the CRM's own time, not the build's), so a past day
    reads the values the CRM held then, whatever is edited later. Deletes are versions too (IsDeleted:
    Salesforce deletes softly and queryAll returns them). A contact changed twice between two builds
    keeps only its later value: daily builds see every change that lasts a day. The name is kept whichever
    CRM feeds it (var `crm`): a HubSpot company's contacts have the same history, read from raw_hubspot.
-#}
{% snapshot snap_salesforce__contacts %}
{{
    config(
        schema='snapshots',
        unique_key='contact_id',
        strategy='timestamp',
        updated_at='system_modstamp_at',
    )
}}
{%- if crm() == 'hubspot' %}
-- HubSpot: the same history of its contacts (archived ones are the deletes; updatedAt is the stamp).
with source as (
    {{ select_source('raw_hubspot', 'contacts') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by updated_at desc, _dlt_load_id desc) as row_num
    from source
)

select
    id as contact_id,
    associatedcompanyid as account_id,
    firstname as first_name,
    lastname as last_name,
    lower(trim(email)) as email,
    coalesce(is_champion, false) as is_champion,
    coalesce(left_company, false) as has_left_company,
    coalesce(archived, false) as is_deleted,
    {{ to_utc('created_at') }} as created_at,
    {{ to_utc('updated_at') }} as system_modstamp_at
from deduped
where row_num = 1
{%- else %}
with source as (
    {{ select_source('raw_salesforce', 'contact') }}
),

deduped as (
    select
        *,
        row_number() over (partition by id order by system_modstamp desc, _dlt_load_id desc) as row_num
    from source
)

select
    id as contact_id,
    account_id,
    first_name,
    last_name,
    lower(trim(email)) as email,
    coalesce(is_champion__c, false) as is_champion,
    coalesce(left_company__c, false) as has_left_company,
    coalesce(is_deleted, false) as is_deleted,
    {{ to_utc('created_date') }} as created_at,
    {{ to_utc('system_modstamp') }} as system_modstamp_at
from deduped
where row_num = 1
{%- endif %}
{% endsnapshot %}
