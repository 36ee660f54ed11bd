select source, table_name, row_count from load_info.raw_tables
