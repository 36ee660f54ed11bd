-- Churn risk and expansion propensity per account and scoring day.
select account_id, scored_on, churn_probability, churn_risk_tier, expansion_propensity, churn_model_id
from ml.account_scores
