{#- A project var giving the two ends of an expansion measure's points: [value at 0 points, value
    at 100 points], 0 below the first, 100 from the second, linear between. Returned as two numbers
    once checked; a value that cannot work stops the model with one line naming the var and the
    problem. Checked when the model runs, not at parse time, so that a typo here fails the
    expansion mart (and what reads it) instead of every dbt command. -#}
{% macro expansion_points_range(var_name) -%}
    {%- set value = var(var_name) -%}
    {%- set problem = namespace(text=none) -%}
    {%- if value is string or value is mapping or value is not iterable or value | length != 2 -%}
        {%- set problem.text = "must be two numbers [0 points at, 100 points at], got " ~ value -%}
    {%- else -%}
        {%- for bound in value -%}
            {%- if problem.text is none and (bound is boolean or bound is not number) -%}
                {%- set problem.text = "value '" ~ bound ~ "' is not a number" -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if problem.text is none and value[0] >= value[1] -%}
            {%- set problem.text = "0 points at " ~ value[0] ~ " must be below 100 points at " ~ value[1] -%}
        {%- endif -%}
    {%- endif -%}
    {%- if problem.text is none -%}
        {{ return([value[0], value[1]]) }}
    {%- elif execute -%}
        {{ exceptions.raise_compiler_error("project var " ~ var_name ~ ": " ~ problem.text) }}
    {%- else -%}
        {{ return([0, 1]) }}
    {%- endif -%}
{%- endmacro %}
