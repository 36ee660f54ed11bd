{#- Sums over an account's last N days from int_account_running_totals: the day's running total
    minus the one N rows (days) back, 0 where the history is shorter. A full build reads the row N
    back with lag() over each account's history. A daily build computes only its new days, so it
    looks those rows up by day number: a join on a few thousand keys, where lag() would have to read
    a year of every account (and a join over the whole table spills on a full build).

    In a model: `with {{ rows_back_ctes(ref('int_account_running_totals'), start_expr, spans) }}`
    gives `today` (the days built), then `from today {{ rows_back_joins(start_expr, spans) }}` and
    `{{ row_back('total_event_count', 30, start_expr) }}` for the value 30 rows back, and
    `{{ window_days(30) }}` for the number of days such a sum covers. -#}

{% macro rows_back_ctes(totals, start_expr, spans) -%}
today as (
    select * from {{ totals }}
    {% if start_expr %}where activity_date >= {{ start_expr }}{% endif %}
),
{% if start_expr -%}
-- the rows `days_back` days before each new day
wanted as (
    {% for days in spans -%}
    select account_id, day_number - {{ days }} as day_number, {{ days }} as days_back from today
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

earlier as (
    select wanted.days_back, totals.*
    from {{ totals }} as totals
    inner join wanted on totals.account_id = wanted.account_id and totals.day_number = wanted.day_number
),
{%- endif %}
{%- endmacro %}

{% macro rows_back_joins(start_expr, spans) -%}
{% if start_expr -%}
{% for days in spans -%}
left join earlier as back_{{ days }}
    on back_{{ days }}.days_back = {{ days }}
    and today.account_id = back_{{ days }}.account_id
    and back_{{ days }}.day_number = today.day_number - {{ days }}
{% endfor -%}
{%- endif %}
{%- endmacro %}

{% macro row_back(column, days, start_expr) -%}
{%- if start_expr -%}
back_{{ days }}.{{ column }}
{%- else -%}
lag(today.{{ column }}, {{ days }}) over (partition by today.account_id order by today.day_number)
{%- endif -%}
{%- endmacro %}

{#- The number of days a sum over the last `days` days covers: fewer at the start of the account's
    history. -#}
{% macro window_days(days) -%}
case when today.day_number < {{ days }} then today.day_number else {{ days }} end
{%- endmacro %}
