{#- The few engine-specific expressions the models need, behind one name each. Models call these
    instead of DuckDB functions so that they move to another warehouse by adding a dispatch
    implementation here (snowflake__..., spark__...), never by editing a model. -#}

{#- A timestamp with time zone as a plain UTC timestamp: every staged time is UTC, no offset. -#}
{% macro to_utc(expr) -%}{{ return(adapter.dispatch('to_utc')(expr)) }}{%- endmacro %}
{% macro default__to_utc(expr) -%}cast(({{ expr }}) at time zone 'UTC' as timestamp){%- endmacro %}
{% macro snowflake__to_utc(expr) -%}convert_timezone('UTC', {{ expr }})::timestamp_ntz{%- endmacro %}

{#- Unix seconds (Stripe) as a UTC timestamp. -#}
{% macro unix_to_utc(expr) -%}{{ return(adapter.dispatch('unix_to_utc')(expr)) }}{%- endmacro %}
{% macro default__unix_to_utc(expr) -%}to_timestamp({{ expr }}){%- endmacro %}
{% macro duckdb__unix_to_utc(expr) -%}make_timestamp(cast({{ expr }} as bigint) * 1000000){%- endmacro %}
{% macro snowflake__unix_to_utc(expr) -%}to_timestamp_ntz({{ expr }}){%- endmacro %}

{#- A text value of a JSON document at a path given as a list of keys / indexes. -#}
{% macro json_text(expr, path) -%}{{ return(adapter.dispatch('json_text')(expr, path)) }}{%- endmacro %}
{% macro default__json_text(expr, path) -%}
    json_extract_string({{ expr }}, '$
    {%- for p in path -%}{%- if p is number -%}[{{ p }}]{%- else -%}.{{ p }}{%- endif -%}{%- endfor -%}')
{%- endmacro %}
{% macro snowflake__json_text(expr, path) -%}
    parse_json({{ expr }})
    {%- for p in path -%}{%- if p is number -%}[{{ p }}]{%- else -%}:{{ p }}{%- endif -%}{%- endfor -%}::varchar
{%- endmacro %}

{#- The host of a URL or the domain of an email, lower-cased, without "www.". -#}
{% macro domain_of(expr) -%}{{ return(adapter.dispatch('domain_of')(expr)) }}{%- endmacro %}
{% macro default__domain_of(expr) -%}
    nullif(regexp_replace(regexp_replace(regexp_replace(lower(trim({{ expr }})),
        '^([a-z]+://)?([^@/]*@)?(www\.)?', ''), '[/?#:].*$', ''), '\.$', ''), '')
{%- endmacro %}

{#- Text without accents (é -> e), to compare names typed in different systems. -#}
{% macro ascii_fold(expr) -%}{{ return(adapter.dispatch('ascii_fold')(expr)) }}{%- endmacro %}
{% macro default__ascii_fold(expr) -%}strip_accents({{ expr }}){%- endmacro %}
{% macro snowflake__ascii_fold(expr) -%}translate({{ expr }}, 'áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ', 'aaaaaaeeeeiiiiooooouuuuncAAAAAAEEEEIIIIOOOOOUUUUNC'){%- endmacro %}

{#- Raise an error with `message` when evaluated (stops the statement, so the build fails). -#}
{% macro raise_sql_error(message_expr) -%}{{ return(adapter.dispatch('raise_sql_error')(message_expr)) }}{%- endmacro %}
{% macro default__raise_sql_error(message_expr) -%}error({{ message_expr }}){%- endmacro %}

{#- A WHERE condition for configuration models: evaluated for every row, it stops the statement with
    "<label>: <problem>" when `problem_expr` is not null, and keeps every row otherwise. -#}
{% macro fail_on_problem(problem_expr, label) -%}
coalesce(
    cast(case when {{ problem_expr }} is not null
        then {{ raise_sql_error("'" ~ label ~ ": ' || " ~ problem_expr) }} end as {{ dbt.type_string() }}),
    'ok'
) = 'ok'
{%- endmacro %}

{#- A number from text, or NULL when the text is not a number. -#}
{% macro safe_to_double(expr) -%}{{ return(adapter.dispatch('safe_to_double')(expr)) }}{%- endmacro %}
{% macro default__safe_to_double(expr) -%}try_cast(trim({{ expr }}) as double){%- endmacro %}
{% macro snowflake__safe_to_double(expr) -%}try_to_double(trim({{ expr }})){%- endmacro %}

{#- A 64-bit float (type_double() is a 32-bit REAL on DuckDB). -#}
{% macro type_double() -%}{{ return(adapter.dispatch('type_double')()) }}{%- endmacro %}
{% macro default__type_double() -%}double{%- endmacro %}
{% macro postgres__type_double() -%}double precision{%- endmacro %}

{#- One row per element of a JSON array (in a select list: the row's other columns repeat). -#}
{% macro json_array_elements(expr, path) -%}{{ return(adapter.dispatch('json_array_elements')(expr, path)) }}{%- endmacro %}
{% macro default__json_array_elements(expr, path) -%}
    unnest(json_extract({{ expr }}, '$
    {%- for p in path -%}{%- if p is number -%}[{{ p }}]{%- else -%}.{{ p }}{%- endif -%}{%- endfor -%}[*]'))
{%- endmacro %}
