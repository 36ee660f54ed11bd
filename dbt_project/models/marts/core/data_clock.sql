-- The as-of date every layer reads (core/clock.py): scoring, alerts and every stamp of which day a
-- record describes. One row.
select
    as_of_date,
    history_start_date
from {{ ref('int_data_clock') }}
