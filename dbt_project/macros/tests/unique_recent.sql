{#- `column_name` is unique. On a full refresh every row is checked; on an incremental build only
    the rows of the last `days` days of `date_column` (what the incremental pass re-reads), so a
    16 M-row append-only table is not re-checked in full every day. -#}
{% test unique_recent(model, column_name, date_column, days=7) %}
with checked as (
    select {{ column_name }}
    from {{ model }}
    {% if not flags.FULL_REFRESH %}
    where {{ date_column }} >= (select {{ add_days('max(' ~ date_column ~ ')', -days) }} from {{ model }})
    {% endif %}
)
select {{ column_name }}, count(*) as occurrences
from checked
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
