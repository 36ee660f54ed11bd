{#- `column_name` is unique (and never NULL). On a full refresh every row is checked; on an
    incremental build only the rows of the last `days` days of `day_key_column` (a 'YYYY-MM-DD'
    text column in load order), i.e. what the incremental models re-read: each day's rows are
    checked in the build that first brings them, without re-reading 16 M rows every day. -#}
{% test unique_recent(model, column_name, day_key_column, days=7) %}
{%- set since = none -%}
{%- if execute and not flags.FULL_REFRESH -%}
    {%- set result = run_query("select cast(" ~ add_days('cast(max(' ~ day_key_column ~ ') as date)', -days)
                               ~ " as " ~ dbt.type_string() ~ ") from " ~ model) -%}
    {%- set since = result.columns[0].values()[0] if result and result.rows | length else none -%}
{%- endif %}
with checked as (
    select {{ column_name }}
    from {{ model }}
    {% if since %}where {{ day_key_column }} >= '{{ since }}'{% endif %}
)
select {{ column_name }}, count(*) as occurrences
from checked
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
