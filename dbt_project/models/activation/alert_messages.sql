-- The chat message for each live high-severity alert, posted once to the owner's channel:
-- `cs-<alias>`, the alias being the owner's e-mail local part (jane.doe -> cs-jane-doe). Without an
-- owner e-mail `owner_channel` is null and the sync posts to its configured fallback channel.
with alerts as (
    select * from ({{ select_source('alerts', 'alerts') }}) as lifecycle
    where status in ('open', 'sent', 'acknowledged') and severity = 'high'
),

customers as (
    select account_id, account_name from {{ ref('customer_360') }}
),

users as (
    select user_id, email from {{ ref('stg_crm__users') }}
)

select
    a.alert_id,
    a.account_id,
    case
        when u.email like '%@%'
            then 'cs-' || lower(replace(replace(split_part(u.email, '@', 1), '.', '-'), '_', '-'))
    end as owner_channel,
    ':rotating_light: ' || coalesce(c.account_name, a.account_id) || ': ' || a.message
    || ' (alert ' || a.alert_id || ', owner ' || coalesce(a.owner_name, 'unassigned') || ')' as text
from alerts as a
left join customers as c on c.account_id = a.account_id
left join users as u on u.user_id = a.owner_user_id
