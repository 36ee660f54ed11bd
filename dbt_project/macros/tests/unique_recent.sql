{#- `column_name` is unique (and never NULL). On a full refresh every row is checked; on an
    incremental build only the rows of `day_key_column` (a 'YYYY-MM-DD' text column in load order)
    from `days` days before the data clock of the previous build on: every day this build brings,
    plus what the incremental models re-read. Each day's rows are so checked in the build that
    first brings them, without re-reading 16 M rows every day.
    The clock (`clock_model`, a one-row model with as_of_date) is read as the previous build left
    it, without a dependency: the clock is downstream of the events. Without a clock table yet,
    every row is checked. -#}
{% test unique_recent(model, column_name, day_key_column, clock_model, days=7) %}
{%- set since = none -%}
{%- if execute and not flags.FULL_REFRESH -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                   | selectattr('name', 'equalto', clock_model) | first -%}
    {%- set clock = adapter.get_relation(node.database, node.schema, node.alias) if node else none -%}
    {%- if clock -%}
        {%- set result = run_query("select cast(" ~ add_days('max(as_of_date)', -days) ~ " as "
                                   ~ dbt.type_string() ~ ") from " ~ clock) -%}
        {%- set since = result.columns[0].values()[0] if result and result.rows | length else none -%}
    {%- endif -%}
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
