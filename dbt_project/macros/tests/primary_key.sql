{#- `column_name` identifies a row: never NULL and never twice. The `unique` and `not_null` pair in
    one query, so each key costs the daily build one test instead of two. -#}
{% test primary_key(model, column_name) %}
select {{ column_name }}, count(*) as occurrences
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
