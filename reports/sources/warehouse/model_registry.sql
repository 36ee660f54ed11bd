select * from ml.model_registry
