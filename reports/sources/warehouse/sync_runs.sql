select * from reverse_etl.sync_runs
