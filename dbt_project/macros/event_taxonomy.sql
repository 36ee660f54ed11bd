{#- The product-event taxonomy (project var `event_taxonomy`): which of the company's event names
    are sessions (logins), exports, admin actions (user invites and the like), integrations and
    advanced features. `event_in(category)` is a SQL condition on `event_name`; a category with no
    names is `false` (its counts are 0 and the measures built only from it say nothing). A var that
    is not a mapping of known categories to lists of names stops the model with one line naming it.
    Checked when the model runs, not at parse time (like the expansion vars). -#}
{% macro event_taxonomy() -%}
    {%- set known = ['sessions', 'exports', 'admin_actions', 'integrations', 'advanced_features'] -%}
    {%- set value = var('event_taxonomy') -%}
    {%- set problem = namespace(text=none) -%}
    {%- if value is not mapping -%}
        {%- set problem.text = "must map categories (" ~ known | join(', ') ~ ") to lists of event names" -%}
    {%- else -%}
        {%- for key, names in value.items() -%}
            {%- if problem.text is none and key not in known -%}
                {%- set problem.text = "unknown category '" ~ key ~ "' (known: " ~ known | join(', ') ~ ")" -%}
            {%- elif problem.text is none and (names is string or names is mapping or names is not iterable) -%}
                {%- set problem.text = "category '" ~ key ~ "' must be a list of event names, got " ~ names -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if problem.text is not none -%}
        {%- if execute -%}{{ exceptions.raise_compiler_error("project var event_taxonomy: " ~ problem.text) }}{%- endif -%}
        {{ return({}) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro event_in(category, column='event_name') -%}
    {%- set names = event_taxonomy().get(category) or [] -%}
    {%- if names | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({%- for n in names %}'{{ n | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%})
    {%- endif -%}
{%- endmacro %}
