{#-
    The CRM the company runs its customers in: var `crm` ("salesforce", the default, or "hubspot"),
    which the product passes from its configuration (`crm` in .dlt/config.toml) to every dbt
    invocation. It is read when the project is parsed, so each model compiles to one CRM's SQL: the
    other CRM's code path is not in the model at run time.
-#}
{% macro crm() -%}
    {%- set value = var('crm', 'salesforce') -%}
    {%- if value not in ('salesforce', 'hubspot') -%}
        {{ exceptions.raise_compiler_error("var crm must be 'salesforce' or 'hubspot', got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- value -}}
{%- endmacro %}

{#- The configured CRM's staging model for `entity` (accounts, contacts, opportunities, users, tasks). -#}
{% macro crm_staging(entity) -%}
    {{ ref('stg_' ~ crm() ~ '__' ~ entity) }}
{%- endmacro %}
