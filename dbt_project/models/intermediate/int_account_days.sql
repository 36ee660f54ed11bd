{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- One row per account per day it was a customer, from the start of the history (or the day it
-- became a customer) to the day it churned (or the as-of date): the spine of the daily marts.
with clock as (
    select as_of_date, history_start_date from {{ ref('int_data_clock') }}
),

accounts as (
    select
        accounts.account_id,
        accounts.segment,
        coalesce(billing.subscription_start_date, accounts.customer_since_date) as customer_start_date,
        billing.churn_date
    from {{ ref('stg_crm__accounts') }} as accounts
    left join {{ ref('int_accounts__subscriptions') }} as billing on accounts.account_id = billing.account_id
    where billing.subscription_id is not null or accounts.customer_since_date is not null
),

-- The segment as the CRM held it on the day (snap_salesforce__accounts); before the first version the
-- warehouse saw, that first version (nothing earlier is known, and a later build sees the same one).
-- Open ends are dates far out rather than nulls, so the join below is one range per account, which
-- the engine joins by account then range, instead of testing every account-day against every version.
segments as (
    select
        account_id,
        segment,
        case
            when row_number() over (partition by account_id order by dbt_valid_from) = 1 then date '0001-01-01'
            else cast(dbt_valid_from as date)
        end as valid_from_date,
        coalesce(cast(dbt_valid_to as date), date '9999-12-31') as valid_to_date
    from {{ ref('snap_salesforce__accounts') }}
),

days as (
    select {{ add_days('clock.history_start_date', 'numbers.n') }} as activity_date
    from clock
    cross join ({{ integers(4) }}) as numbers
    where numbers.n <= {{ dbt.datediff('clock.history_start_date', 'clock.as_of_date', 'day') }}
    {% if is_incremental() %}
        and {{ add_days('clock.history_start_date', 'numbers.n') }} >= {{ incremental_start_literal('activity_date') }}
    {% endif %}
)

select
    {{ dbt.concat(['accounts.account_id', "'|'", 'cast(days.activity_date as ' ~ dbt.type_string() ~ ')']) }}
        as account_day_id,
    accounts.account_id,
    days.activity_date,
    coalesce(segments.segment, accounts.segment) as segment
from accounts
inner join days
    on days.activity_date >= accounts.customer_start_date
    -- The churn day itself is the first day without the product.
    and (accounts.churn_date is null or days.activity_date < accounts.churn_date)
left join segments
    on accounts.account_id = segments.account_id
    and segments.valid_from_date <= days.activity_date
    and segments.valid_to_date > days.activity_date
