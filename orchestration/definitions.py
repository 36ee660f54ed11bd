"""The code location: everything is collected from `orchestration/defs/`."""

from dagster import Definitions

from orchestration import preflight
from orchestration.defs import alerts, daily, ingest, ml, report_site, reverse_etl, sensors, serving, transform
from orchestration.resources import WarehouseResource

defs = Definitions.merge(
    daily.definitions(),
    preflight.definitions(),
    ingest.definitions(),
    ml.definitions(),
    sensors.definitions(),
    transform.definitions(),
    report_site.definitions(),
    alerts.definitions(),
    reverse_etl.definitions(),
    serving.definitions(),
    Definitions(resources={"warehouse": WarehouseResource()}),
)
