select * from ml.calibration_curve
