-- The errors of each destination's latest sync run; one row per destination even without errors
-- (error NULL), because Evidence writes no file for an empty result.
with latest as (
    select run_id, destination
    from reverse_etl.sync_runs
    qualify row_number() over (partition by destination order by started_at desc) = 1
)
select latest.run_id, latest.destination, e.record_key, e.error, e.occurred_at
from latest
left join reverse_etl.sync_errors as e on e.run_id = latest.run_id
