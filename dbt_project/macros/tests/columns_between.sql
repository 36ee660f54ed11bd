{#- Rows where any of `columns` is outside [min_value, max_value] (NULL passes: "no data" is
    allowed). One query for all the 0-100 scores of a model instead of one test per column. -#}
{% test columns_between(model, columns, min_value, max_value) %}
select {{ columns | join(', ') }}
from {{ model }}
where {% for c in columns -%}
    ({{ c }} < {{ min_value }} or {{ c }} > {{ max_value }}){{ " or " if not loop.last }}
{%- endfor %}
{% endtest %}
