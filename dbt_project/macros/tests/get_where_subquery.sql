{#- dbt's hook for a test's `where` config, extended with one placeholder: `__recent__:<date
    column>` checks only the rows an incremental build rebuilt (the last incremental_lookback_days
    days and after), and every row on a full refresh. Without the placeholder: dbt's behaviour. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and where.startswith('__recent__:') -%}
        {%- set column = where.split(':', 1)[1] | trim -%}
        {%- if flags.FULL_REFRESH -%}
            {%- do return(relation) -%}
        {%- else -%}
            {%- set filtered -%}
                (select * from {{ relation }} where {{ column }} >= (
                    select {{ add_days('max(' ~ column ~ ')', -var('incremental_lookback_days')) }} from {{ relation }}
                )) dbt_subquery
            {%- endset -%}
            {%- do return(filtered) -%}
        {%- endif -%}
    {%- elif where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
