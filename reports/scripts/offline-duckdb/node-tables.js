// Part of the offline DuckDB patch (reports/scripts/patch-offline-duckdb.mjs), copied into
// @evidence-dev/universal-sql/src/offline/. Node side (`npm run sources`, prerendering during
// `npm run build`): synchronous, like the blocking DuckDB-Wasm bindings universal-sql uses there.
import { readFileSync } from 'fs';
import { readParquet } from 'parquet-wasm/node/arrow1.js';
import {
	SourceTables,
	createEmptyTableSql,
	describeSql,
	dropSql,
	loadError,
	normalizeTypesSql,
	schemaLocation
} from './source-tables.js';

export { DISABLE_EXTENSION_DOWNLOADS } from './source-tables.js';

const tables = new SourceTables();

const rows = (arrowTable) => arrowTable.toArray().map((row) => row.toJSON());

/** Replaces setParquetURLs' `CREATE VIEW ... read_parquet(...)`: remember the file, load it later. */
export function registerTable(connection, source, table, location) {
	const previous = tables.register(source, table, location);
	if (previous?.loaded) connection.query(dropSql(previous));
}

export function dropAllTables(connection) {
	for (const entry of tables.clear()) if (entry.loaded) connection.query(dropSql(entry));
}

/** Loads every registered table that `sql` names and that is not in DuckDB yet. */
export function loadReferencedTables(connection, sql) {
	for (const entry of tables.unloadedReferencedBy(sql)) {
		try {
			const parquet = readParquet(readFileSync(entry.location));
			if (parquet.numBatches === 0) {
				const columns = JSON.parse(readFileSync(schemaLocation(entry.location), 'utf8'));
				for (const statement of createEmptyTableSql(entry, columns)) connection.query(statement);
			} else {
				connection.insertArrowFromIPCStream(parquet.intoIPCStream(), {
					schema: entry.source,
					name: entry.table,
					create: true
				});
				for (const statement of normalizeTypesSql(entry, rows(connection.query(describeSql(entry)))))
					connection.query(statement);
			}
		} catch (e) {
			throw loadError(entry, e);
		}
		entry.loaded = true;
	}
}
