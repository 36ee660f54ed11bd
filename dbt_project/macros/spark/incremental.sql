{#- dbt-spark's incremental models, with the strategy the project's models use everywhere:
    delete+insert (the recomputed days replace the built ones, matched on unique_key). Spark over
    plain Parquet has neither DELETE nor MERGE, so the new rows are written to a table first, the
    kept rows (those no new row replaces) to another, and the model's table is overwritten with both;
    with Delta, Iceberg or Hudi tables the same three steps run (a MERGE would be shorter there).
    The two work tables are left beside the model (`<model>__dbt_new`, `<model>__dbt_kept`) until
    its next incremental build replaces them: Spark cannot drop them inside the statement.

    These two macros replace dbt-spark's own of the same names (validation and SQL per strategy);
    the other strategies keep dbt-spark's behaviour. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'] -%}
        {%- do exceptions.raise_compiler_error("Invalid incremental strategy provided: " ~ raw_strategy
            ~ "\n    Expected one of: 'append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'") -%}
    {%- endif -%}
    {%- if raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi'] -%}
        {%- do exceptions.raise_compiler_error("Invalid incremental strategy provided: merge\n"
            ~ "    You can only choose this strategy when file_format is set to 'delta' or 'iceberg' or 'hudi'") -%}
    {%- endif -%}
    {%- if raw_strategy in ['insert_overwrite', 'microbatch'] and target.endpoint -%}
        {%- do exceptions.raise_compiler_error("Invalid incremental strategy provided: " ~ raw_strategy
            ~ "\n    You cannot use this strategy when connecting via endpoint") -%}
    {%- endif -%}
    {%- do return(raw_strategy) -%}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {{ spark_delete_insert_sql(source, target, unique_key) }}
    {%- elif strategy == 'append' -%}
        {{ get_insert_into_sql(source, target) }}
    {%- elif strategy in ['insert_overwrite', 'microbatch'] -%}
        {%- if strategy == 'microbatch' and not config.get('partition_by') -%}
            {%- do exceptions.raise_compiler_error("dbt-spark 'microbatch' incremental strategy requires a `partition_by` config.") -%}
        {%- endif -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'merge' -%}
        {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
    {%- else -%}
        {%- do exceptions.raise_compiler_error("No known SQL for the incremental strategy provided: " ~ strategy) -%}
    {%- endif -%}
{% endmacro %}

{% macro spark_delete_insert_sql(source, target, unique_key) %}
    {%- if not unique_key -%}
        {%- do exceptions.raise_compiler_error("delete+insert on Spark needs a unique_key") -%}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set new_rows = api.Relation.create(schema=target.schema, identifier=target.identifier ~ '__dbt_new', type='table') -%}
    {%- set kept_rows = api.Relation.create(schema=target.schema, identifier=target.identifier ~ '__dbt_kept', type='table') -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | map('lower') | list -%}
    {%- do run_query("drop table if exists " ~ new_rows) -%}
    {%- do run_query("drop table if exists " ~ kept_rows) -%}
    {%- do run_query("create table " ~ new_rows ~ " using parquet as select * from " ~ source) -%}
    {%- set kept_sql -%}
        create table {{ kept_rows }} using parquet as
        select * from {{ target }} as built
        where not exists (
            select 1 from {{ new_rows }} as recomputed
            where {% for k in keys %}recomputed.{{ k }} <=> built.{{ k }}{{ " and " if not loop.last }}{% endfor %}
        )
    {%- endset -%}
    {%- do run_query(kept_sql) -%}
    insert overwrite table {{ target }}
    select {{ columns | join(', ') }} from {{ kept_rows }}
    union all
    select {{ columns | join(', ') }} from {{ new_rows }}
{% endmacro %}
