{#-
    Select a raw table's declared columns (the `columns:` of its source, with their data_type), or
    with `child`, the columns of one of its dlt child tables (`<table>__<child>`, declared under the
    source table's meta.child_tables): a child table is loaded by the same dlt resource, so it is
    staged through its parent's source and shares its parent's Dagster asset.

    The raw tables are written by dlt, whose schemas evolve: a column appears only once some record
    carries the field (a Stripe metadata key, a Zendesk metric), and a whole source can be switched
    off in configuration (a company without Zendesk). Staging must build in every case, so:
    - a declared column the table lacks is selected as a typed NULL;
    - a table that does not exist yields no rows, with the declared columns and types.
    At parse time this only registers the dependency on the source.
-#}
{% macro select_source(source_name, table_name, child=none) -%}
    {%- set parent = source(source_name, table_name) -%}
    {%- if not execute -%}
        select * from {{ parent }}
    {%- else -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                       | selectattr('name', 'equalto', table_name) | first -%}
        {%- if child -%}
            {%- set declared = (node.config.meta or node.meta).get('child_tables', {}).get(child, []) -%}
            {%- set relation = api.Relation.create(database=parent.database, schema=parent.schema,
                                                   identifier=parent.identifier ~ '__' ~ child) -%}
            {%- set label = source_name ~ '.' ~ table_name ~ '__' ~ child -%}
        {%- else -%}
            {%- set declared = node.columns.values() | list -%}
            {%- set relation = parent -%}
            {%- set label = source_name ~ '.' ~ table_name -%}
        {%- endif -%}
        {%- if declared | length == 0 -%}
            {{ exceptions.raise_compiler_error("source " ~ label ~ " declares no columns") }}
        {%- endif -%}
        {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema,
                                                identifier=relation.identifier) -%}
        {%- if existing is none -%}
            {{ log("source " ~ label ~ " is not loaded: staging it as empty", info=true) }}
            select
            {%- for col in declared %}
                cast(null as {{ declared_type(col.data_type) }}) as {{ col.name }}{{ "," if not loop.last }}
            {%- endfor %}
            where 1 = 0
        {%- else -%}
            {%- set present = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
            select
            {%- for col in declared %}
                {% if col.name | lower in present -%}
                    {{ adapter.quote(col.name) }}
                {%- else -%}
                    cast(null as {{ declared_type(col.data_type) }})
                {%- endif %} as {{ col.name }}{{ "," if not loop.last }}
            {%- endfor %}
            from {{ existing }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
