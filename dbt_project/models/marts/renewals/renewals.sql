-- Contract renewals coming up (term contracts of 12 months or more ending within
-- var renewal_window_days of the as-of date): the ARR at stake, the renewal deal, the account's
-- health and the resulting risk. Month-to-month plans renew every month and are left out.
with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

accounts as (
    select * from {{ ref('stg_crm__accounts') }} where is_customer
),

billing as (
    select * from {{ ref('int_accounts__subscriptions') }}
),

renewal_deals as (
    select
        account_id,
        opportunity_id,
        stage_name,
        amount,
        close_date,
        row_number() over (partition by account_id order by close_date, opportunity_id) as deal_rank
    from {{ ref('stg_crm__opportunities') }}
    where opportunity_type = 'Renewal' and not is_closed
),

health as (
    select account_id, health_score, health_tier, health_trend, top_risk_drivers from {{ ref('health_scores') }}
),

upcoming as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.segment,
        accounts.csm_user_id,
        billing.contract_term_months,
        billing.arr,
        billing.cancel_at_period_end,
        accounts.contract_end_date as crm_contract_end_date,
        coalesce(
            renewal_deals.close_date,
            {{ next_term_end('billing.subscription_start_date', 'billing.contract_term_months', 'clock.as_of_date') }}
        ) as renewal_date,
        renewal_deals.opportunity_id as renewal_opportunity_id,
        renewal_deals.stage_name as renewal_stage,
        renewal_deals.amount as renewal_amount,
        clock.as_of_date
    from accounts
    cross join clock
    inner join billing on accounts.account_id = billing.account_id
    left join renewal_deals on accounts.account_id = renewal_deals.account_id and renewal_deals.deal_rank = 1
    where billing.contract_term_months >= 12
        and billing.subscription_status in ('active', 'past_due', 'trialing')
)

select
    upcoming.account_id,
    upcoming.account_name,
    upcoming.segment,
    upcoming.csm_user_id,
    upcoming.renewal_date,
    {{ dbt.datediff('upcoming.as_of_date', 'upcoming.renewal_date', 'day') }} as days_to_renewal,
    upcoming.crm_contract_end_date,
    upcoming.contract_term_months,
    upcoming.arr as arr_at_stake,
    upcoming.renewal_opportunity_id,
    upcoming.renewal_stage,
    upcoming.renewal_amount,
    upcoming.cancel_at_period_end as notice_given,
    health.health_score,
    health.health_tier,
    health.health_trend,
    case
        when upcoming.cancel_at_period_end then 'Notice given'
        when health.health_tier = 'Red' then 'High'
        when health.health_tier = 'Yellow' then 'Medium'
        when health.health_tier = 'Green' then 'Low'
        else 'Unknown'
    end as renewal_risk,
    case when upcoming.cancel_at_period_end or health.health_tier = 'Red' then upcoming.arr else 0 end
        as arr_at_risk,
    health.top_risk_drivers,
    upcoming.as_of_date
from upcoming
left join health on upcoming.account_id = health.account_id
where upcoming.renewal_date >= upcoming.as_of_date
    and upcoming.renewal_date <= {{ add_days('upcoming.as_of_date', var('renewal_window_days')) }}
