-- The warehouse's "today": the last day the loaded data reaches (or var as_of_date). The sandbox
-- lives on its own clock, and a real warehouse may be loaded late: neither is current_date.
-- Salesforce modstamps are left out on purpose: the copilot's own writes move them.
{% set pinned = var('as_of_date', none) %}
-- On a daily build the product clock only moves forward: the newest day is searched from the
-- previous clock on, as a constant the engine prunes the 2-year event table with, and the history
-- keeps its start. A full refresh (or a first build) reads every event.
{% set previous = none %}
{% if execute and not flags.FULL_REFRESH and adapter.get_relation(this.database, this.schema, this.identifier) %}
    {% set result = run_query("select cast(history_start_date as " ~ dbt.type_string() ~ "), cast(as_of_date as "
                              ~ dbt.type_string() ~ ") from " ~ this ~ " where history_start_date is not null") %}
    {% set previous = result.rows[0] if result and result.rows | length else none %}
{% endif %}

with product as (
    {% if previous and not pinned %}
    select
        cast('{{ previous[0] }}' as date) as first_date,
        cast(max(event_day_key) as date) as last_date
    from {{ ref('stg_product__events') }}
    where event_day_key >= '{{ previous[1] }}'
    {% else %}
    select cast(min(event_day_key) as date) as first_date, cast(max(event_day_key) as date) as last_date
    from {{ ref('stg_product__events') }}
    {% endif %}
),

support as (
    select min(cast(created_at as date)) as first_date, max(cast(updated_at as date)) as last_date
    from {{ ref('stg_zendesk__tickets') }}
),

billing as (
    select min(cast(created_at as date)) as first_date, max(cast(created_at as date)) as last_date
    from {{ ref('stg_stripe__events') }}
),

clock as (
    select
        {% if pinned %}
        cast('{{ pinned }}' as date) as as_of_date,
        {% else %}
        coalesce(
            product.last_date,
            greatest(coalesce(support.last_date, billing.last_date), coalesce(billing.last_date, support.last_date))
        ) as as_of_date,
        {% endif %}
        -- Product usage is the backbone of the daily history: it starts where the export starts.
        coalesce(product.first_date, billing.first_date, support.first_date) as history_start_date
    from product
    cross join support
    cross join billing
)

select
    as_of_date,
    history_start_date,
    1 as clock_id
from clock
