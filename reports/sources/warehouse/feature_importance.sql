select * from ml.feature_importance
