-- The alert rules an analyst edits (seeds/alerts/alert_rules.csv), checked and typed. A rule that
-- cannot work fails the build here with one line naming the rule and the problem, before any
-- alert is evaluated.
{% set rule_types = ['usage_drop', 'champion_left', 'payment_issue', 'red_near_renewal', 'ticket_surge',
    'health_score_fall', 'churn_risk_high', 'churn_risk_jump', 'expansion_opportunity', 'notice_save_play'] %}
{% set placeholders = ['value', 'previous', 'current', 'threshold', 'days', 'detail'] %}

with rules as (
    select
        trim(rule_id) as rule_id,
        lower(trim(rule_type)) as rule_type,
        lower(trim(coalesce(enabled, ''))) as enabled_text,
        lower(trim(coalesce(severity, ''))) as severity,
        trim(coalesce(cooldown_days, '')) as cooldown_text,
        {{ safe_to_double('cooldown_days') }} as cooldown_days,
        trim(coalesce(threshold, '')) as threshold_text,
        {{ safe_to_double('threshold') }} as threshold,
        trim(coalesce(threshold_2, '')) as threshold_2_text,
        {{ safe_to_double('threshold_2') }} as threshold_2,
        trim(coalesce(window_days, '')) as window_text,
        {{ safe_to_double('window_days') }} as window_days,
        trim(coalesce(precision_floor, '')) as floor_text,
        {{ safe_to_double('precision_floor') }} as precision_floor,
        lower(trim(coalesce(mute_below_floor, 'false'))) as mute_text,
        message_template
    from {{ ref('alert_rules') }}
),

-- Placeholders left after replacing the known ones are typos: '{vlaue}' would reach the CSM as is.
templates as (
    select
        rule_id,
        {% set ns = namespace(expr='message_template') %}
        {% for p in placeholders %}{% set ns.expr = "replace(" ~ ns.expr ~ ", '{" ~ p ~ "}', '')" %}{% endfor %}
        {{ ns.expr }} as leftover
    from rules
),

problems as (
    select 1 as problem_rank, 'rule ''' || rule_id || ''' appears ' || cast(count(*) as {{ dbt.type_string() }}) || ' times' as problem
    from rules group by rule_id having count(*) > 1
    union all
    select 2, 'rule ''' || rule_id || ''': unknown rule_type ''' || coalesce(rule_type, '') || ''' (known: {{ rule_types | join(", ") }})'
    from rules where coalesce(rule_type, '') not in ({% for t in rule_types %}'{{ t }}'{{ ", " if not loop.last }}{% endfor %})
    union all
    select 3, 'rule ''' || rule_id || ''': enabled ''' || enabled_text || ''' is not true or false'
    from rules where enabled_text not in ('true', 'false')
    union all
    select 4, 'rule ''' || rule_id || ''': severity ''' || severity || ''' is not high, medium or low'
    from rules where severity not in ('high', 'medium', 'low')
    union all
    select 5, 'rule ''' || rule_id || ''': cooldown_days ''' || cooldown_text || ''' is not a whole number >= 0'
    from rules where cooldown_days is null or cooldown_days < 0 or cooldown_days <> floor(cooldown_days)
    union all
    select 6, 'rule ''' || rule_id || ''': threshold ''' || threshold_text || ''' is not a number'
    from rules where threshold is null
    union all
    select 7, 'rule ''' || rule_id || ''': threshold_2 ''' || threshold_2_text || ''' is not a number'
    from rules where threshold_2_text <> '' and threshold_2 is null
    union all
    select 8, 'rule ''' || rule_id || ''': window_days ''' || window_text || ''' is not a whole number > 0'
    from rules where window_text <> '' and (window_days is null or window_days <= 0 or window_days <> floor(window_days))
    union all
    select 9, 'rule ''' || rule_id || ''': precision_floor ''' || floor_text || ''' is not a share between 0 and 1'
    from rules where precision_floor is null or precision_floor < 0 or precision_floor > 1
    union all
    select 10, 'rule ''' || rule_id || ''': mute_below_floor ''' || mute_text || ''' is not true or false'
    from rules where mute_text not in ('true', 'false')
    union all
    select 11, 'rule ''' || rule_id || ''': message_template is empty'
    from rules where trim(coalesce(message_template, '')) = ''
    union all
    select 12, 'rule ''' || templates.rule_id || ''': message_template has an unknown placeholder (known: {{ placeholders | join(", ") }})'
    from templates where {{ dbt.position("'{'", 'leftover') }} > 0
    union all
    select 13, 'a rule has no rule_id'
    from rules where coalesce(rule_id, '') = ''
),

first_problem as (
    select min(problem) as problem
    from problems
    where problem_rank = (select min(problem_rank) from problems)
)

select
    rules.rule_id,
    rules.rule_type,
    rules.enabled_text = 'true' as enabled,
    rules.severity,
    cast(rules.cooldown_days as integer) as cooldown_days,
    rules.threshold,
    rules.threshold_2,
    cast(rules.window_days as integer) as window_days,
    rules.precision_floor,
    rules.mute_text = 'true' as mute_below_floor,
    rules.message_template
from rules
cross join first_problem
-- Any problem stops the statement with its text.
where {{ fail_on_problem('first_problem.problem', 'alert rules') }}
