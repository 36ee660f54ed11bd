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
