{#- The raw tables on an engine that reads them as files: every `<schema>/<table>/` folder of Parquet
    under COPILOT_RAW_PARQUET (`python -m dlt_pipelines export-parquet`, or any loader writing that
    layout to a path or object-store URL the engine reads) becomes the table `<schema>.<table>`,
    which the sources name. Run before every build (on-run-start); nothing on DuckDB, whose raw
    tables are in the warehouse file. A table absent from the folder stays absent: staging builds it
    empty (select_source), as it does for a source switched off. -#}
{% macro register_raw_parquet() -%}
    {{- return(adapter.dispatch('register_raw_parquet')()) -}}
{%- endmacro %}

{% macro default__register_raw_parquet() -%}{%- endmacro %}

{% macro spark__register_raw_parquet() -%}
    {%- set root = env_var('COPILOT_RAW_PARQUET', '') | trim -%}
    {%- if execute and root -%}
        {%- set root = root.rstrip('/') -%}
        {#- The folders holding Parquet files: Spark lists them (binaryFile reads no content when
            only the path is selected), so any file system or object store Spark reads works. -#}
        {%- set listing = run_query(
            "select distinct regexp_extract(path, '/([^/]+)/([^/]+)/[^/]+[.]parquet$', 1) as schema_name,"
            ~ " regexp_extract(path, '/([^/]+)/([^/]+)/[^/]+[.]parquet$', 2) as table_name"
            ~ " from binaryFile.`" ~ root ~ "/*/*/*.parquet`") -%}
        {%- set registered = [] -%}
        {%- for row in listing.rows -%}
            {%- set schema_name, table_name = row[0], row[1] -%}
            {%- if schema_name.startswith('raw_') -%}
                {%- do run_query("create database if not exists " ~ schema_name) -%}
                {#- External tables: dropping one forgets its name, never its files. -#}
                {%- do run_query("drop table if exists " ~ schema_name ~ ".`" ~ table_name ~ "`") -%}
                {%- do run_query("create table " ~ schema_name ~ ".`" ~ table_name ~ "` using parquet location '"
                                 ~ root ~ "/" ~ schema_name ~ "/" ~ table_name ~ "'") -%}
                {%- do registered.append(schema_name ~ "." ~ table_name) -%}
            {%- endif -%}
        {%- endfor -%}
        {{- log("raw Parquet under " ~ root ~ ": " ~ (registered | length) ~ " tables registered", info=true) -}}
    {%- endif -%}
{%- endmacro %}

