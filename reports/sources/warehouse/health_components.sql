-- Today's health components per account, each with the reason behind it.
select
    account_id, scored_as_of, health_score, health_tier, health_score_30d_ago, health_trend,
    usage_score, usage_reason, adoption_score, adoption_reason, support_score, support_reason,
    billing_score, billing_reason, relationship_score, relationship_reason, components_with_data
from marts.health_scores
