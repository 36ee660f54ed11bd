"""The code location: everything is collected from `orchestration/defs/`."""

from dagster import Definitions

from orchestration.defs import ingest, sensors, transform
from orchestration.resources import WarehouseResource

defs = Definitions.merge(
    ingest.definitions(),
    sensors.definitions(),
    transform.definitions(),
    Definitions(resources={"warehouse": WarehouseResource()}),
)
