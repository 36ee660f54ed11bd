// Part of the offline DuckDB patch (reports/scripts/patch-offline-duckdb.mjs), copied into
// @evidence-dev/universal-sql/src/offline/. Browser side (queries that run in the page, e.g. when an
// input or dropdown changes). The parquet-wasm module is bundled by Vite and served with the site;
// it is fetched only when the page first needs a table.
import initParquetWasm, { readParquet } from 'parquet-wasm/esm/arrow1.js';
import parquetWasmUrl from 'parquet-wasm/esm/arrow1_bg.wasm?url';
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

/** @type {Promise<unknown> | undefined} */
let parquetWasmReady;

const rows = (arrowTable) => arrowTable.toArray().map((row) => row.toJSON());

/** Replaces setParquetURLs' `CREATE VIEW ... read_parquet(...)`: remember the URL, load it later. */
export async function registerTable(connection, source, table, url) {
	const previous = tables.register(source, table, url);
	if (previous?.loading) await previous.loading.catch(() => {});
	if (previous?.loaded) await connection.query(dropSql(previous));
}

export async function dropAllTables(connection) {
	for (const entry of tables.clear()) {
		if (entry.loading) await entry.loading.catch(() => {});
		if (entry.loaded) await connection.query(dropSql(entry));
	}
}

async function loadTable(connection, entry) {
	try {
		parquetWasmReady ??= initParquetWasm(parquetWasmUrl);
		const response = await fetch(entry.location);
		if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
		const bytes = new Uint8Array(await response.arrayBuffer());
		await parquetWasmReady;
		const parquet = readParquet(bytes);
		if (parquet.numBatches === 0) {
			const schema = await fetch(schemaLocation(entry.location));
			if (!schema.ok) throw new Error(`column types: HTTP ${schema.status} ${schema.statusText}`);
			for (const statement of createEmptyTableSql(entry, await schema.json())) await connection.query(statement);
		} else {
			await connection.insertArrowFromIPCStream(parquet.intoIPCStream(), {
				schema: entry.source,
				name: entry.table,
				create: true
			});
			const columns = rows(await connection.query(describeSql(entry)));
			for (const statement of normalizeTypesSql(entry, columns)) await connection.query(statement);
		}
	} catch (e) {
		throw loadError(entry, e);
	}
	entry.loaded = true;
}

/** Loads every registered table that `sql` names and that is not in DuckDB yet. */
export async function loadReferencedTables(connection, sql) {
	await Promise.all(
		tables.unloadedReferencedBy(sql).map((entry) => {
			entry.loading ??= loadTable(connection, entry).catch((e) => {
				entry.loading = null; // let a later query try again
				throw e;
			});
			return entry.loading;
		})
	);
}
