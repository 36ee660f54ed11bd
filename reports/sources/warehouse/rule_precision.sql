-- Per rule: closed alerts, their outcomes and precision; `enough_outcomes` says whether the sample is
-- large enough (min_outcomes, alert_settings.csv) for the precision to mean anything.
select rule_id, severity, alerts_closed, confirmed, false_alarm, already_known, with_outcome, min_outcomes,
    with_outcome >= min_outcomes as enough_outcomes, precision, precision_floor, below_floor, muted
from alerts.rule_precision
