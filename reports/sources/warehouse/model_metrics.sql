select * from ml.model_metrics
