{#- The few engine-specific expressions the models need, behind one name each. Models call these
    instead of DuckDB functions so that they move to another warehouse by adding a dispatch
    implementation here (snowflake__..., spark__...), never by editing a model. -#}

{#- A timestamp with time zone as a plain UTC timestamp: every staged time is UTC, no offset. -#}
{% macro to_utc(expr) -%}{{ return(adapter.dispatch('to_utc')(expr)) }}{%- endmacro %}
{% macro default__to_utc(expr) -%}cast(({{ expr }}) at time zone 'UTC' as timestamp){%- endmacro %}
{% macro snowflake__to_utc(expr) -%}convert_timezone('UTC', {{ expr }})::timestamp_ntz{%- endmacro %}
{#- Spark's TIMESTAMP is an instant, shown in the session's zone (UTC in every profile). -#}
{% macro spark__to_utc(expr) -%}cast({{ expr }} as timestamp){%- endmacro %}

{#- Unix seconds (Stripe) as a UTC timestamp. -#}
{% macro unix_to_utc(expr) -%}{{ return(adapter.dispatch('unix_to_utc')(expr)) }}{%- endmacro %}
{% macro default__unix_to_utc(expr) -%}to_timestamp({{ expr }}){%- endmacro %}
{% macro duckdb__unix_to_utc(expr) -%}make_timestamp(cast({{ expr }} as bigint) * 1000000){%- endmacro %}
{% macro snowflake__unix_to_utc(expr) -%}to_timestamp_ntz({{ expr }}){%- endmacro %}
{% macro spark__unix_to_utc(expr) -%}timestamp_seconds(cast({{ expr }} as bigint)){%- endmacro %}

{#- A date or UTC timestamp as Unix seconds (an integer): to compare with a column of raw Unix seconds,
    which the engine can push into the table scan (a filter on unix_to_utc(column) reads every row). -#}
{% macro unix_seconds(expr) -%}{{ return(adapter.dispatch('unix_seconds')(expr)) }}{%- endmacro %}
{% macro default__unix_seconds(expr) -%}cast(extract(epoch from {{ expr }}) as bigint){%- endmacro %}
{% macro duckdb__unix_seconds(expr) -%}cast(epoch({{ expr }}) as bigint){%- endmacro %}
{% macro snowflake__unix_seconds(expr) -%}date_part(epoch_second, {{ expr }}){%- endmacro %}
{% macro spark__unix_seconds(expr) -%}unix_timestamp(cast({{ expr }} as timestamp)){%- endmacro %}

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
{% macro spark__json_text(expr, path) -%}
    get_json_object({{ expr }}, '$
    {%- for p in path -%}{%- if p is number -%}[{{ p }}]{%- else -%}.{{ p }}{%- endif -%}{%- endfor -%}')
{%- endmacro %}

{#- The host of a URL or the domain of an email, lower-cased, without "www.". -#}
{% macro domain_of(expr) -%}{{ return(adapter.dispatch('domain_of')(expr)) }}{%- endmacro %}
{% macro default__domain_of(expr) -%}
    nullif(regexp_replace(regexp_replace(regexp_replace(lower(trim({{ expr }})),
        '^([a-z]+://)?([^@/]*@)?(www\.)?', ''), '[/?#:].*$', ''), '\.$', ''), '')
{%- endmacro %}

{#- Spark reads a backslash in a string literal as an escape: the dots are classes instead. -#}
{% macro spark__domain_of(expr) -%}
    nullif(regexp_replace(regexp_replace(regexp_replace(lower(trim({{ expr }})),
        '^([a-z]+://)?([^@/]*@)?(www[.])?', ''), '[/?#:].*$', ''), '[.]$', ''), '')
{%- endmacro %}

{#- Text without accents (é -> e), to compare names typed in different systems. -#}
{% macro ascii_fold(expr) -%}{{ return(adapter.dispatch('ascii_fold')(expr)) }}{%- endmacro %}
{% macro default__ascii_fold(expr) -%}strip_accents({{ expr }}){%- endmacro %}
{% macro snowflake__ascii_fold(expr) -%}{{ ascii_fold_by_translation(expr) }}{%- endmacro %}
{% macro spark__ascii_fold(expr) -%}{{ ascii_fold_by_translation(expr) }}{%- endmacro %}
{#- Engines without an accent-stripping function: the accented Latin letters the CRM's names carry. -#}
{% macro ascii_fold_by_translation(expr) -%}translate({{ expr }}, 'áàâäãåéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ', 'aaaaaaeeeeiiiiooooouuuuncAAAAAAEEEEIIIIOOOOOUUUUNC'){%- endmacro %}

{#- Raise an error with `message` when evaluated (stops the statement, so the build fails). -#}
{% macro raise_sql_error(message_expr) -%}{{ return(adapter.dispatch('raise_sql_error')(message_expr)) }}{%- endmacro %}
{% macro default__raise_sql_error(message_expr) -%}error({{ message_expr }}){%- endmacro %}
{% macro spark__raise_sql_error(message_expr) -%}raise_error({{ message_expr }}){%- endmacro %}

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
{#- dbt-spark runs Spark with ANSI mode off: a cast of text that is not a number is NULL. -#}
{% macro spark__safe_to_double(expr) -%}cast(trim({{ expr }}) as double){%- endmacro %}

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
{#- Spark: the array as JSON texts, one row each (an object element stays its JSON text). -#}
{% macro spark__json_array_elements(expr, path) -%}
    explode(from_json(get_json_object({{ expr }}, '$
    {%- for p in path -%}{%- if p is number -%}[{{ p }}]{%- else -%}.{{ p }}{%- endif -%}{%- endfor -%}'), 'array<string>'))
{%- endmacro %}

{#- A type declared in a source's columns (DuckDB's names) as the engine names it. -#}
{% macro declared_type(data_type) -%}{{ return(adapter.dispatch('declared_type')(data_type)) }}{%- endmacro %}
{% macro default__declared_type(data_type) -%}{{ data_type }}{%- endmacro %}
{% macro spark__declared_type(data_type) -%}
    {{- {'varchar': 'string', 'text': 'string', 'json': 'string', 'integer': 'int'}.get(data_type | lower, data_type) -}}
{%- endmacro %}
