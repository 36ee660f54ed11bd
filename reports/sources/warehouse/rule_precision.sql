select rule_id, severity, alerts_closed, confirmed, false_alarm, already_known, precision, precision_floor,
    below_floor, muted
from alerts.rule_precision
