{#- Snapshots on Spark over plain Parquet tables, which have no MERGE (dbt-spark's own snapshot
    needs Delta, Iceberg or Hudi). The first build creates the table from the snapshot's select, as
    everywhere. A later build computes the changes with dbt's own strategy (check or timestamp) into
    a staging table, writes the whole new history beside it (the current versions that changed or
    vanished closed with their new valid_to, the new versions appended), and overwrites the
    snapshot with it: a rewrite of the snapshot per build, small next to the tables that read it.
    The snapshot's columns are those of its first build (a new column needs --full-refresh). -#}
{% materialization snapshot, adapter='spark' %}
    {%- set strategy_name = config.get('strategy') -%}
    {%- set target_relation_exists, target_relation = get_or_create_relation(
            database=none, schema=model.schema, identifier=model.get('alias', model.get('name')), type='table') -%}

    {{ run_hooks(pre_hooks) }}

    {%- set strategy_macro = strategy_dispatch(strategy_name) -%}
    {%- set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) -%}

    {%- if not target_relation_exists -%}
        {%- set final_sql = create_table_as(False, target_relation, build_snapshot_table(strategy, model['compiled_code'])) -%}
    {%- else -%}
        {%- set names = config.get("snapshot_table_column_names") or get_snapshot_table_column_names() -%}
        {%- set staging = api.Relation.create(schema=model.schema, identifier=target_relation.identifier ~ '__dbt_changes', type='table') -%}
        {%- set rewrite = api.Relation.create(schema=model.schema, identifier=target_relation.identifier ~ '__dbt_history', type='table') -%}
        {%- do adapter.drop_relation(staging) -%}
        {%- do adapter.drop_relation(rewrite) -%}
        {%- do run_query(create_table_as(False, staging, snapshot_staging_table(strategy, model['compiled_code'], target_relation))) -%}
        {%- set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
        {%- set rewrite_sql -%}
            select
                {%- for c in target_columns %}
                {% if c | lower == names.dbt_valid_to | lower -%}
                    case when changes.scd_id is not null then changes.valid_to else history.{{ adapter.quote(c) }} end
                {%- else -%}
                    history.{{ adapter.quote(c) }}
                {%- endif %} as {{ adapter.quote(c) }}{{ "," if not loop.last }}
                {%- endfor %}
            from {{ target_relation }} as history
            left join (
                select {{ names.dbt_scd_id }} as scd_id, {{ names.dbt_valid_to }} as valid_to
                from {{ staging }}
                where dbt_change_type in ('update', 'delete')
            ) as changes
                on changes.scd_id = history.{{ names.dbt_scd_id }} and history.{{ names.dbt_valid_to }} is null
            union all
            select
                {%- for c in target_columns %}
                {{ adapter.quote(c) }}{{ "," if not loop.last }}
                {%- endfor %}
            from {{ staging }}
            where dbt_change_type = 'insert'
        {%- endset -%}
        {%- do run_query(create_table_as(False, rewrite, rewrite_sql)) -%}
        {%- set final_sql = "insert overwrite table " ~ target_relation ~ " select * from " ~ rewrite -%}
    {%- endif -%}

    {% call statement('main') -%}
        {{ final_sql }}
    {%- endcall %}

    {%- if target_relation_exists -%}
        {%- do adapter.drop_relation(staging) -%}
        {%- do adapter.drop_relation(rewrite) -%}
    {%- endif -%}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
