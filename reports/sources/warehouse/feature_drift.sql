select * from ml.feature_drift
