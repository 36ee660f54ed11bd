select * from ml.lift_curve
