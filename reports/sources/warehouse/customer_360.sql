-- One row per account, from the customer 360 mart. Ids are cast to VARCHAR here: Evidence turns
-- numeric columns into doubles, so a numeric id would build links like /accounts/101.0/.
select
    cast(account_id as varchar) as account_id,
    account_name,
    csm_name,
    segment,
    cast(arr as double) as arr,
    health_tier,
    health_score
from marts.customer_360
