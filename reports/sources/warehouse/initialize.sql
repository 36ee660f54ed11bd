-- Run by the DuckDB connector before each source query. The reports build runs offline: a query
-- that needs a DuckDB extension not built in must fail at once, not try to download it.
SET autoinstall_known_extensions = false;
