#!/usr/bin/env node
// Makes the read copy of the warehouse that Evidence reads: sources/warehouse/warehouse.duckdb.
//
//   node scripts/snapshot-warehouse.mjs [path/to/warehouse.duckdb]
//
// Source: the argument, else $COPILOT_WAREHOUSE (the name every part of the product reads; a relative
// path is relative to the repository root), else data/warehouse.duckdb.
// Why a copy and not the warehouse itself: DuckDB lets one process hold a file for writing and then
// nobody else can even read it, so the report build must never hold the pipeline's file open.
// Why through DuckDB and not `cp`: a plain copy of a file that is being written (or that has a
// write-ahead log beside it) can be torn; attaching it READ_ONLY either gets a consistent view or
// fails at once with DuckDB's lock error.
//
// What is copied (the reports read nothing else):
//   - the schemas the pages read, whole: marts, ml, alerts, activation, reverse_etl, raw_quality. The daily run
//     writes all of them before the report build, so a missing table is an error, named here, not a
//     blank page later;
//   - the few staging tables an account page lists row by row (tickets, invoices, contacts);
//   - `load_info`, made here from the raw layer: dlt's load log of every raw_* schema, each raw
//     table's row count, and the quarantined records (the raw tables themselves stay behind).
// The copy is written to a temporary file and renamed into place, so a failed run never leaves a
// half-written copy behind for `npm run sources`.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Tables the pages read; each schema is copied whole, and each table listed must be there.
const REQUIRED = {
	marts: [
		'customer_360',
		'health_scores',
		'health_score_history',
		'account_daily_activity',
		'renewals',
		'expansion_signals',
		'ml_account_snapshots'
	],
	ml: [
		'account_scores',
		'account_scores_latest',
		'model_registry',
		'model_metrics',
		'calibration_curve',
		'lift_curve',
		'feature_importance',
		'feature_drift',
		'realised_performance'
	],
	alerts: ['alerts', 'rule_precision'],
	activation: ['crm_account_fields', 'crm_alert_tasks', 'alert_messages'],
	reverse_etl: ['sync_runs', 'sync_errors'],
	raw_quality: ['check_results']
};
// Staging tables the account page lists row by row.
const STAGING = ['stg_zendesk__tickets', 'stg_stripe__invoices', 'stg_crm__contacts'];

const source = path.resolve(
	path.join(REPORTS_DIR, '..'),
	process.argv[2] ?? process.env.COPILOT_WAREHOUSE ?? path.join('data', 'warehouse.duckdb')
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
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjects();
// dbt's views name their catalog after the file (dbt-duckdb's database is the file's stem), so the
// warehouse is attached under that name for the staging views to resolve.
const src = ident(path.basename(source).replace(/\.[^.]*$/, ''));
let copied = 0;
try {
	// Nothing here needs an extension; never let DuckDB try to download one.
	await conn.run('SET autoinstall_known_extensions = false');
	try {
		await conn.run(`ATTACH ${sqlString(source)} AS ${src} (READ_ONLY)`);
	} catch (e) {
		fail(`cannot open ${source} read-only (is a pipeline writing it right now?): ${e.message}`);
	}
	await conn.run(`ATTACH ${sqlString(tmp)} AS snap`);
	const relations = await rows(
		`SELECT table_schema AS s, table_name AS t FROM information_schema.tables
		 WHERE table_catalog = ${sqlString(src.slice(1, -1))} ORDER BY 1, 2`
	);
	const has = (schema, table) => relations.some((r) => r.s === schema && r.t === table);
	const missing = [
		...Object.entries(REQUIRED).flatMap(([schema, tables]) => tables.map((t) => [schema, t])),
		...STAGING.map((t) => ['staging', t])
	]
		.filter(([schema, table]) => !has(schema, table))
		.map(([schema, table]) => `${schema}.${table}`);
	if (missing.length > 0) {
		fail(`${source} lacks tables the reports read: ${missing.join(', ')} (run the daily job first)`);
	}

	const copy = async (schema, table, select = `SELECT * FROM ${src}.${ident(schema)}.${ident(table)}`) => {
		await conn.run(`CREATE SCHEMA IF NOT EXISTS snap.${ident(schema)}`);
		await conn.run(`CREATE TABLE snap.${ident(schema)}.${ident(table)} AS ${select}`);
		copied += 1;
	};
	for (const { s, t } of relations.filter((r) => r.s in REQUIRED)) await copy(s, t);
	for (const table of STAGING) await copy('staging', table);

	// load_info: what the data-quality page says about each raw schema.
	// raw_<source>_staging schemas are dlt's merge scratch space, not data.
	const raw = relations.filter((r) => /^raw_\w+$/.test(r.s) && r.s !== 'raw_quality' && !r.s.endsWith('_staging'));
	const loads = raw.filter((r) => r.t === '_dlt_loads');
	const quarantines = raw.filter((r) => r.t === 'quarantine');
	const dataTables = raw.filter((r) => !r.t.startsWith('_dlt_') && r.t !== 'quarantine');
	const union = (parts, empty) => (parts.length ? parts.join(' UNION ALL ') : empty);
	await copy(
		'load_info',
		'raw_loads',
		union(
			loads.map(
				(r) =>
					`SELECT ${sqlString(r.s.slice(4))} AS source, load_id, status, ` +
					`CAST(inserted_at AS TIMESTAMP) AS inserted_at FROM ${src}.${ident(r.s)}._dlt_loads`
			),
			`SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS load_id, NULL::BIGINT AS status,
			 NULL::TIMESTAMP AS inserted_at WHERE false`
		)
	);
	await copy(
		'load_info',
		'raw_tables',
		union(
			dataTables.map(
				(r) =>
					`SELECT ${sqlString(r.s.slice(4))} AS source, ${sqlString(r.t)} AS table_name, ` +
					`count(*) AS row_count FROM ${src}.${ident(r.s)}.${ident(r.t)}`
			),
			`SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS table_name, NULL::BIGINT AS row_count WHERE false`
		)
	);
	await copy(
		'load_info',
		'quarantine',
		union(
			quarantines.map(
				(r) =>
					`SELECT ${sqlString(r.s.slice(4))} AS source, source_table, record_key, reason, ` +
					`CAST(quarantined_at AS TIMESTAMP) AS quarantined_at FROM ${src}.${ident(r.s)}.quarantine`
			),
			`SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_table, NULL::VARCHAR AS record_key,
			 NULL::VARCHAR AS reason, NULL::TIMESTAMP AS quarantined_at WHERE false`
		)
	);
	await conn.run('DETACH snap');
	await conn.run(`DETACH ${src}`);
} catch (e) {
	fail(`copying ${source} failed: ${e.message}`);
} finally {
	conn.closeSync();
	instance.closeSync();
}
fs.renameSync(tmp, target);
const mb = (fs.statSync(target).size / 1e6).toFixed(1);
console.log(
	`snapshot-warehouse: ${source} -> ${path.relative(process.cwd(), target)} ` +
		`(${copied} tables, ${mb} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`
);
