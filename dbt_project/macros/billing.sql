{#- How many billing periods of a Stripe price fit in a year: `recurring.interval` (day, week, month,
    year) and `recurring.interval_count` (every 6 months = month x 6 = 2 a year). Null for an
    interval this does not know, so an unknown plan shows no ARR rather than a wrong one. -#}
{% macro periods_per_year(interval, interval_count) -%}
    (case {{ interval }}
        when 'year' then 1.0
        when 'month' then 12.0
        when 'week' then 52.0
        when 'day' then 365.0
    end / coalesce(nullif({{ interval_count }}, 0), 1))
{%- endmacro %}
