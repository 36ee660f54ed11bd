{#-
    The history of the CRM accounts' segment (the health-score weights and the ML snapshots read it
    per day): a version whenever the segment changed, valid from the account's SystemModstamp of that
    change. Only the segment is compared: the copilot writes its score fields to every account every
    day, which moves SystemModstamp without changing anything this history is for. It reads the
    CRM-neutral accounts, so it keeps its name (and its history) whichever CRM feeds it (var `crm`).
-#}
{% snapshot snap_salesforce__accounts %}
{{
    config(
        schema='snapshots',
        unique_key='account_id',
        strategy='check',
        check_cols=['segment'],
        updated_at='system_modstamp_at',
    )
}}
select account_id, segment, system_modstamp_at
from {{ ref('stg_crm__accounts') }}
{% endsnapshot %}
