-- Each CRM account's billing today: its subscription (the current one, else the latest ended),
-- ARR as billing has it, and the customer lifetime (start, and churn = the subscription ended).
with links as (
    select account_id, stripe_customer_id from {{ ref('int_accounts_joined_across_systems') }}
    where stripe_customer_id is not null
),

subscriptions as (
    select
        *,
        row_number() over (
            partition by stripe_customer_id
            order by case when status in ('active', 'past_due', 'trialing') then 0 else 1 end, created_at desc
        ) as subscription_rank
    from {{ ref('stg_stripe__subscriptions') }}
),

current_subscription as (
    select * from subscriptions where subscription_rank = 1
)

select
    links.account_id,
    links.stripe_customer_id,
    current_subscription.subscription_id,
    current_subscription.status as subscription_status,
    current_subscription.product,
    current_subscription.billing_interval,
    current_subscription.billing_interval_count,
    current_subscription.contract_term_months,
    current_subscription.collection_method,
    current_subscription.seats,
    current_subscription.cancel_at_period_end,
    current_subscription.current_period_end_at,
    -- every item by its own price's interval and interval count (stg_stripe__subscriptions)
    case
        when current_subscription.status in ('active', 'past_due', 'trialing') then current_subscription.annual_amount
        else 0
    end as arr,
    cast(current_subscription.started_at as date) as subscription_start_date,
    cast(current_subscription.ended_at as date) as churn_date
from links
inner join current_subscription on links.stripe_customer_id = current_subscription.stripe_customer_id
