select * from ml.realised_performance
