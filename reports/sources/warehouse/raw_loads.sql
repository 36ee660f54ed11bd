select source, load_id, status, inserted_at from load_info.raw_loads
