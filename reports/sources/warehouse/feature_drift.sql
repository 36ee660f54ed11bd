-- Drift of each model's features and score since its training, with the model's kind.
select d.computed_on, d.model_id, r.model_kind, d.feature, d.psi, d.drift_level
from ml.feature_drift as d
left join ml.model_registry as r using (model_id)
