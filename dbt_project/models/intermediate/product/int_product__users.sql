-- One row per product user per workspace: when they were active and the email they sign in
-- with (where the workspace shares it).
select
    workspace_id,
    product_user_id,
    min(activity_date) as first_active_date,
    max(activity_date) as last_active_date,
    count(*) as active_days,
    max(user_email) as user_email
from {{ ref('int_product__user_days') }}
group by workspace_id, product_user_id
