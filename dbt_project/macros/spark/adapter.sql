{#- Where dbt-spark's defaults do not fit a project written with DuckDB's type names, or plain Parquet
    tables. Each replaces dbt-spark's macro of the same dispatch name for this project only. -#}

{#- Casts to the types a contract or a source declares (varchar, json, integer): Spark's names. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ declared_type(type) }})
{%- endmacro %}

{#- Contracted NOT NULL columns: Spark sets the constraint on Delta tables only (a Parquet table
    refuses ALTER COLUMN ... SET NOT NULL); there the not_null data tests hold the promise. -#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format', 'parquet') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- endif -%}
{%- endmacro %}

{#- Seeds as literals: the session method's parameter binding turns an empty cell into the text
    'None', where the CSV meant NULL (the configuration models then report a problem). -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {{- ", " if not loop.last -}}
                {%- endfor -%}){{ "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{- return(statements[0]) -}}
{%- endmacro %}

{#- listagg in the order asked (dbt-spark ignores the order by): the values collected with their
    sort key, sorted, joined. One sort expression, ascending or with desc. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set order_expr = modules.re.sub('(?i)^\\s*order\\s+by\\s+', '', order_by_clause) | trim -%}
        {%- set descending = modules.re.search('(?i)\\s+desc$', order_expr) is not none -%}
        {%- set order_expr = modules.re.sub('(?i)\\s+(asc|desc)$', '', order_expr) -%}
        {%- set items -%}
            transform(array_sort(collect_list(struct({{ order_expr }} as sort_key, {{ measure }} as item))), x -> x.item)
        {%- endset -%}
        {%- set items = "reverse(" ~ items ~ ")" if descending else items -%}
    {%- else -%}
        {%- set items = "collect_list(" ~ measure ~ ")" -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set items = "slice(" ~ items ~ ", 1, " ~ limit_num ~ ")" -%}
    {%- endif -%}
    array_join({{ items }}, {{ delimiter_text }})
{%- endmacro %}

{#- dbt.datediff as DuckDB counts it (the boundaries crossed between the two days or months) and
    with its type (bigint; Spark's datediff is an int, which the contracts would refuse). -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart | lower == 'day' -%}
        cast(datediff(cast({{ second_date }} as date), cast({{ first_date }} as date)) as bigint)
    {%- elif datepart | lower == 'month' -%}
        cast((year({{ second_date }}) - year({{ first_date }})) * 12 + month({{ second_date }}) - month({{ first_date }}) as bigint)
    {%- elif datepart | lower == 'year' -%}
        cast(year({{ second_date }}) - year({{ first_date }}) as bigint)
    {%- else -%}
        {%- do exceptions.raise_compiler_error("datediff on Spark: day, month or year, not " ~ datepart) -%}
    {%- endif -%}
{%- endmacro %}
