#!/usr/bin/env node
// Makes the read copy of the warehouse that Evidence reads: sources/warehouse/warehouse.duckdb.
//
//   node scripts/snapshot-warehouse.mjs [path/to/warehouse.duckdb]
//
// Source: the argument, else $WAREHOUSE_PATH, else ../data/warehouse.duckdb (relative to reports/).
// Why a copy and not the warehouse itself: DuckDB lets one process hold a file for writing and then
// nobody else can even read it, so the report build must never hold the pipeline's file open.
// Why through DuckDB and not `cp`: a plain copy of a file that is being written (or that has a
// write-ahead log beside it) can be torn; attaching it READ_ONLY either gets a consistent view or
// fails at once with DuckDB's lock error. Only the `marts` schema is copied (tables and views, views
// materialised), which is the contract: reports read marts and nothing else.
// The copy is written to a temporary file and renamed into place, so a failed run never leaves a
// half-written copy behind for `npm run sources`.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = 'marts';

const source = path.resolve(
	process.argv[2] ?? process.env.WAREHOUSE_PATH ?? path.join(REPORTS_DIR, '..', 'data', 'warehouse.duckdb')
);
const target = path.join(REPORTS_DIR, 'sources', 'warehouse', 'warehouse.duckdb');
const tmp = `${target}.tmp`;

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

function fail(message) {
	console.error(`snapshot-warehouse: ${message}`);
	process.exit(1);
}

if (!fs.existsSync(source)) fail(`no warehouse at ${source} (build the marts first, or pass a path)`);
for (const stale of [tmp, `${tmp}.wal`]) fs.rmSync(stale, { force: true });

const started = Date.now();
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
let tables = [];
try {
	// Nothing here needs an extension; never let DuckDB try to download one.
	await conn.run('SET autoinstall_known_extensions = false');
	try {
		await conn.run(`ATTACH ${sqlString(source)} AS src (READ_ONLY)`);
	} catch (e) {
		fail(`cannot open ${source} read-only (is a pipeline writing it right now?): ${e.message}`);
	}
	await conn.run(`ATTACH ${sqlString(tmp)} AS snap`);
	const reader = await conn.runAndReadAll(
		`SELECT table_name FROM information_schema.tables
		 WHERE table_catalog = 'src' AND table_schema = ${sqlString(SCHEMA)}
		 ORDER BY table_name`
	);
	tables = reader.getRowObjects().map((r) => r.table_name);
	if (tables.length === 0) fail(`${source} has no ${SCHEMA}.* tables`);

	await conn.run(`CREATE SCHEMA snap.${ident(SCHEMA)}`);
	for (const table of tables) {
		const name = `${ident(SCHEMA)}.${ident(table)}`;
		await conn.run(`CREATE TABLE snap.${name} AS SELECT * FROM src.${name}`);
	}
	await conn.run('DETACH snap');
	await conn.run('DETACH src');
} finally {
	conn.closeSync();
	instance.closeSync();
}
fs.renameSync(tmp, target);
const mb = (fs.statSync(target).size / 1e6).toFixed(1);
console.log(
	`snapshot-warehouse: ${source} -> ${path.relative(process.cwd(), target)} ` +
		`(${SCHEMA}: ${tables.length} tables, ${mb} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`
);
