{#-
    The history of the CRM's contacts: Salesforce keeps only each record's current state (Is_Champion__c
    and Left_Company__c have no field history), and the loader merges on Id, so the raw table forgets
    every earlier value. This snapshot keeps them: each dbt build adds a version when a contact's
    SystemModstamp moved, valid from that stamp (the CRM's own time, not the build's), so a past day
    reads the values the CRM held then, whatever is edited later. Deletes are versions too (IsDeleted:
    Salesforce deletes softly and queryAll returns them). A contact changed twice between two builds
    keeps only its later value: daily builds see every change that lasts a day. The name is kept whichever
    CRM feeds it (var `crm`): a HubSpot company's contacts have the same history, read from raw_hubspot
    (archived ones are the deletes). The contacts are read as their staging reads them (macros/crm_contacts.sql).
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
{{ crm_contacts(crm(), with_deleted=true, columns=[
    'contact_id', 'account_id', 'first_name', 'last_name', 'email', 'is_champion', 'has_left_company',
    'is_deleted', 'created_at', 'system_modstamp_at'
]) }}
{% endsnapshot %}
