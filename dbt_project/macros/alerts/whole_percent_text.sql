{#- A share (0.42) as the whole percent text an alert message shows ("42"). -#}
{% macro whole_percent_text(share_expr) -%}
cast(cast(round(100 * ({{ share_expr }})) as integer) as {{ dbt.type_string() }})
{%- endmacro %}
