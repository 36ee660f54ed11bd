-- One row per current customer (CRM Account.Type = Customer), everything a CSM or a report needs
-- about it as of the data's own clock: firmographics, owner and CSM, plan, seats and their use,
-- ARR (as billing has it) and its change, contract and renewal dates, usage, support, billing,
-- the champion, the health score and the expansion score, and the ids in every system.
{#- lifecycle_state = 'notice_given': notice given and the subscription not ended yet -#}
{% set notice_standing = "billing.cancel_at_period_end and coalesce(billing.churn_date > clock.as_of_date, true)" %}

with clock as (
    select as_of_date from {{ ref('int_data_clock') }}
),

accounts as (
    select * from {{ ref('stg_crm__accounts') }} where is_customer
),

users as (
    select user_id, user_name from {{ ref('stg_crm__users') }}
),

links as (
    select * from {{ ref('int_accounts_joined_across_systems') }}
),

billing as (
    select * from {{ ref('int_accounts__subscriptions') }}
),

metrics as (
    select metrics.*
    from {{ ref('int_account_health_metrics') }} as metrics
    inner join clock on metrics.snapshot_date = clock.as_of_date
),

-- The event names used in the last 30 days, from the recent days of use per event name that
-- int_product__event_type_days keeps (the last 45 days of the clock) rather than from the events.
features_30d as (
    select links.account_id, count(distinct type_days.event_name) as features_used_30d
    from {{ ref('int_product__event_type_days') }} as type_days
    cross join clock
    inner join links on type_days.workspace_id = links.workspace_id
    where type_days.activity_date > {{ add_days('clock.as_of_date', -30) }}
        and type_days.activity_date <= clock.as_of_date
        -- features are what people do: not logins or admin actions (var event_taxonomy)
        and not ({{ event_in('sessions', 'type_days.event_name') }})
        and not ({{ event_in('admin_actions', 'type_days.event_name') }})
    group by links.account_id
),

champions as (
    select
        account_id,
        min(contact_id) as champion_contact_id,
        count(*) as champions,
        sum(case when left_flagged_date is not null then 1 else 0 end) as champions_left
    from {{ ref('int_contacts__champions') }}
    group by account_id
),

champion_contacts as (
    select contact_id, first_name || ' ' || last_name as champion_name, email as champion_email
    from {{ ref('stg_crm__contacts') }}
),

health as (
    select * from {{ ref('health_scores') }}
),

expansion as (
    select account_id, expansion_score, expansion_reason from {{ ref('expansion_signals') }}
),

-- The day the standing notice was given: the first day of the account's current run of days with
-- notice (account_daily_activity keeps notice as of every day).
notice_days as (
    select
        activity.account_id,
        max(case when not activity.notice_given then activity.activity_date end) as last_day_without_notice,
        min(activity.activity_date) as first_day,
        max(case when activity.activity_date = clock.as_of_date and activity.notice_given then 1 else 0 end)
            as notice_on_as_of_day
    from {{ ref('account_daily_activity') }} as activity
    cross join clock
    where activity.activity_date <= clock.as_of_date
    group by activity.account_id
),

renewal_deals as (
    select account_id, min(close_date) as renewal_opportunity_close_date
    from {{ ref('stg_crm__opportunities') }}
    where opportunity_type = 'Renewal' and not is_closed
    group by account_id
)

select
    accounts.account_id,
    accounts.account_name,
    accounts.segment,
    accounts.industry,
    accounts.employee_count,
    accounts.billing_country,
    accounts.website_domain,
    accounts.csm_user_id,
    csm.user_name as csm_name,
    owner.user_name as account_owner_name,
    billing.product as plan,
    billing.billing_interval,
    billing.contract_term_months,
    billing.subscription_status,
    billing.seats,
    metrics.active_users_7d,
    metrics.active_users_30d,
    case when billing.seats > 0
        then round(cast(metrics.active_users_30d as {{ type_double() }}) / billing.seats, 3) end
        as seat_utilisation,
    billing.arr,
    accounts.crm_arr,
    metrics.arr_90d_ago,
    billing.arr - metrics.arr_90d_ago as arr_change_90d,
    coalesce(billing.subscription_start_date, accounts.customer_since_date) as customer_since_date,
    accounts.contract_end_date,
    coalesce(
        renewal_deals.renewal_opportunity_close_date,
        case when billing.contract_term_months >= 12 then
            {{ next_term_end('billing.subscription_start_date', 'billing.contract_term_months', 'clock.as_of_date') }}
        end,
        cast(billing.current_period_end_at as date)
    ) as next_renewal_date,
    billing.cancel_at_period_end as notice_given,
    -- Announced churn is a state of its own, not a health tier or a prediction.
    case
        when billing.account_id is null then 'no_subscription'
        when billing.churn_date <= clock.as_of_date then 'ended'
        when billing.cancel_at_period_end then 'notice_given'
        else 'active'
    end as lifecycle_state,
    case when {{ notice_standing }} then
        case when notice_days.notice_on_as_of_day = 1
            then coalesce({{ add_days('notice_days.last_day_without_notice', 1) }}, notice_days.first_day)
            else clock.as_of_date end
    end as notice_given_on,
    case when {{ notice_standing }} then cast(billing.current_period_end_at as date) end as notice_ends_on,
    case when metrics.active_users_30d_90d_ago > 0
        then round(cast(metrics.active_users_30d as {{ type_double() }}) / metrics.active_users_30d_90d_ago - 1, 3)
        end as active_users_growth_90d,
    coalesce(features_30d.features_used_30d, 0) as features_used_30d,
    round(metrics.advanced_feature_share, 3) as advanced_feature_share,
    cast(metrics.open_tickets as integer) as open_tickets,
    metrics.tickets_90d,
    cast(metrics.high_priority_tickets_90d as integer) as high_priority_tickets_90d,
    case when metrics.tickets_90d > 0
        then round(metrics.high_priority_tickets_90d / metrics.tickets_90d, 3) end as high_priority_ticket_share_90d,
    metrics.csat_good_180d,
    metrics.csat_bad_180d,
    case when metrics.csat_good_180d + metrics.csat_bad_180d > 0
        then round(cast(metrics.csat_good_180d as {{ type_double() }})
            / (metrics.csat_good_180d + metrics.csat_bad_180d), 3) end as csat_score_180d,
    cast(metrics.payment_failures_90d as integer) as payment_failures_90d,
    cast(metrics.overdue_invoices as integer) as overdue_invoices,
    champion_contacts.champion_name,
    champion_contacts.champion_email,
    case
        when champions.champion_contact_id is null then 'none named'
        when champions.champions_left >= champions.champions then 'left the company'
        when metrics.champion_active_days_30d > 0 then 'active in the product'
        when metrics.champion_active_days_30d = 0 then 'not seen in the product for 30 days'
        else 'named (product activity not visible)'
    end as champion_status,
    health.health_score,
    health.health_tier,
    health.health_trend,
    health.health_score_change_30d,
    health.top_risk_drivers,
    expansion.expansion_score,
    expansion.expansion_reason,
    links.zendesk_organization_id,
    links.stripe_customer_id,
    links.workspace_id,
    clock.as_of_date
from accounts
cross join clock
left join users as csm on accounts.csm_user_id = csm.user_id
left join users as owner on accounts.account_owner_user_id = owner.user_id
left join links on accounts.account_id = links.account_id
left join billing on accounts.account_id = billing.account_id
left join metrics on accounts.account_id = metrics.account_id
left join features_30d on accounts.account_id = features_30d.account_id
left join champions on accounts.account_id = champions.account_id
left join champion_contacts on champions.champion_contact_id = champion_contacts.contact_id
left join health on accounts.account_id = health.account_id
left join expansion on accounts.account_id = expansion.account_id
left join renewal_deals on accounts.account_id = renewal_deals.account_id
left join notice_days on accounts.account_id = notice_days.account_id
