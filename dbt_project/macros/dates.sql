{#- `expr` plus `days` days, as a date (dbt.dateadd returns a timestamp on some engines). -#}
{% macro add_days(expr, days) -%}
    cast({{ dbt.dateadd('day', days, expr) }} as date)
{%- endmacro %}

{#- The first day an incremental model recomputes: its latest built day minus the lookback. -#}
{% macro incremental_start(date_column) -%}
    (select {{ add_days('max(' ~ date_column ~ ')', -var('incremental_lookback_days')) }} from {{ this }})
{%- endmacro %}

{#- The integers 0 .. 10^digits - 1 as a column `n`, portable (no generate_series). -#}
{% macro integers(digits=4) -%}
    select
        {% for i in range(digits) -%}
        d{{ i }}.n * {{ 10 ** i }}{{ " + " if not loop.last }}
        {%- endfor %} as n
    from
        {% for i in range(digits) -%}
        (select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
         union all select 5 union all select 6 union all select 7 union all select 8 union all select 9) as d{{ i }}
        {{- " cross join" if not loop.last }}
        {% endfor %}
{%- endmacro %}

{#- The first contract anniversary (start + k x term months) after `after_date`. -#}
{% macro next_term_end(start_date, term_months, after_date) -%}
    case
        when {{ term_months }} is null or {{ term_months }} <= 0 or {{ start_date }} is null then null
        when cast({{ dbt.dateadd('month',
                '(floor(' ~ dbt.datediff(start_date, after_date, 'month') ~ ' / ' ~ term_months ~ ') * ' ~ term_months ~ ')',
                start_date) }} as date) > {{ after_date }}
            then cast({{ dbt.dateadd('month',
                '(floor(' ~ dbt.datediff(start_date, after_date, 'month') ~ ' / ' ~ term_months ~ ') * ' ~ term_months ~ ')',
                start_date) }} as date)
        else cast({{ dbt.dateadd('month',
                '((floor(' ~ dbt.datediff(start_date, after_date, 'month') ~ ' / ' ~ term_months ~ ') + 1) * ' ~ term_months ~ ')',
                start_date) }} as date)
    end
{%- endmacro %}

{#- incremental_start() as a date literal, read from the model's table when the SQL is compiled:
    a constant lets the engine skip the older row groups of a large append-only source (a
    subquery would make it scan and compare every row). -#}
{% macro incremental_start_literal(date_column) -%}
    {{- date_literal_from(add_days('max(' ~ date_column ~ ')', -var('incremental_lookback_days')), this, execute) -}}
{%- endmacro %}

{#- The data clock's as-of date plus `days`, as a date literal read when the model compiles (the
    clock model is built before anything that reads it): a constant filter on a large source lets
    the engine skip the row groups outside it, where a join with the clock would scan them all.
    Before the clock's first build (`dbt compile` on a new warehouse) the literal filters nothing. -#}
{% macro clock_date_literal(clock_relation, days=0) -%}
    {{- date_literal_from(add_days('as_of_date', days), clock_relation,
                          execute and load_relation(clock_relation) is not none) -}}
{%- endmacro %}

{#- The date `expr` computes over `relation`, queried when the SQL compiles and written as a literal;
    1900-01-01 (filters nothing) when `run` is false or there is no value. -#}
{% macro date_literal_from(expr, relation, run) -%}
    {%- if run -%}
        {%- set result = run_query("select cast(" ~ expr ~ " as " ~ dbt.type_string() ~ ") from " ~ relation) -%}
        {%- set value = result.columns[0].values()[0] if result and result.rows | length else none -%}
        {{- "cast('" ~ value ~ "' as date)" if value else "cast('1900-01-01' as date)" -}}
    {%- else -%}
        cast('1900-01-01' as date)
    {%- endif -%}
{%- endmacro %}

{#- Whether `day` is an observation day of the ML snapshots: one day in var ml_observation_every_days,
    counted from Monday 2000-01-03 (Mondays when 7), or the as-of day `as_of`. -#}
{% macro is_observation_day(day, as_of) -%}
    ({{ is_regular_observation_day(day) }} or {{ day }} = {{ as_of }})
{%- endmacro %}

{#- Whether `day` is one of the regular observation days (without the as-of day). -#}
{% macro is_regular_observation_day(day) -%}
    (mod({{ dbt.datediff("cast('2000-01-03' as date)", day, 'day') }}, {{ var('ml_observation_every_days') }}) = 0)
{%- endmacro %}
