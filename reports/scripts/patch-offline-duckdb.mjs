#!/usr/bin/env node
// npm postinstall: make @evidence-dev/universal-sql work with no network.
//
// Upstream, DuckDB-Wasm (which universal-sql runs in Node for `npm run sources` / prerendering and in
// the page for input-driven queries) reads source data with `read_parquet`, and DuckDB-Wasm has no
// Parquet reader built in: it downloads the parquet extension from the DuckDB extensions host at run
// time. Offline, `npm run sources` hangs at "Processing..." and page filters break (duckdb-wasm #2010,
// evidence #3155). No registry package ships that extension.
//
// The patch, applied to the exact upstream files it was written against:
//   - build-parquet.js: the batch files are merged with parquet-wasm instead of DuckDB's
//     `COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT PARQUET)`;
//   - client-duckdb/node.js and client-duckdb/browser.js: instead of a view over read_parquet, each
//     source table is decoded with parquet-wasm and inserted with `insertArrowFromIPCStream`, the first
//     time a query names it; extension auto-install/auto-load are switched off so nothing can reach
//     for the network (a query that would need an extension fails at once, with DuckDB's message).
// The added code lives in scripts/offline-duckdb/ and is copied to universal-sql/src/offline/.
//
// It fails (exit 1, with the reason) when anything differs from what it was written for: the package
// version, the sha256 of each file it edits, each edited passage occurring exactly once, the APIs it
// calls in duckdb-wasm and parquet-wasm. Then it runs a self-test offline-style (extensions disabled):
// builds a multi-batch parquet file and queries it through the patched Node client.
// It is idempotent: the pristine file is kept as `<file>.orig` and every run patches from it.
//
//   node scripts/patch-offline-duckdb.mjs            patch (postinstall) and self-test
//   node scripts/patch-offline-duckdb.mjs --check    only verify that the installed files are patched
//   ... --node-modules DIR                             patch the tree under DIR (tests)
//   ... --skip-self-test                               (tests that already ran it)
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SCRIPTS_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPORTS_DIR = path.resolve(SCRIPTS_DIR, '..');
const ADDED_DIR = path.join(SCRIPTS_DIR, 'offline-duckdb');
const MARKER = '/* offline-duckdb patch (customer-success-copilot reports/scripts/patch-offline-duckdb.mjs) */';

const UNIVERSAL_SQL_VERSION = '3.0.1';
const DEPENDENCIES = {
	// what the added code calls; checked below
	'@duckdb/duckdb-wasm': /^1\.(3[0-9])\./,
	'parquet-wasm': /^0\.5\.0$/,
	'apache-arrow': /^17\./
};

const INIT_ANCHOR = `		// https://duckdb.org/2024/02/13/announcing-duckdb-0100.html#breaking-sql-changes
		await connection.query('SET old_implicit_casting = true;');
`;
const INIT_ADDITION = `		for (const statement of DISABLE_EXTENSION_DOWNLOADS) await connection.query(statement);
`;

/** Each edit: `find` must occur exactly once in the pristine file; it becomes `replace`. */
const PATCHES = [
	{
		file: 'src/build-parquet.js',
		sha256: '7376c2878449348d9f3a26f16446fc24e391545714a6be3764634fc10f9d64de',
		edits: [
			{
				find: `import chalk from 'chalk';\n`,
				replace: `import chalk from 'chalk';\nimport { mergeParquetFiles, writeEmptyParquet } from './offline/merge-parquet.js';\n`
			},
			{
				find: `	const parquetFiles = tmpFilenames.map((filename) => \`'\${filename.replaceAll('\\\\', '/')}'\`);

	const select = \`SELECT * FROM read_parquet([\${parquetFiles.join(',')}])\`;
	const copy = \`COPY (\${select}) TO '\${outputFilepath}' (FORMAT 'PARQUET', CODEC 'ZSTD', USE_TMP_FILE false);\`;

	await fs.mkdir(path.dirname(outputFilepath), { recursive: true });
	await query(copy);
`,
				replace: `	await fs.mkdir(path.dirname(outputFilepath), { recursive: true });
	await mergeParquetFiles(tmpFilenames, outputFilepath);
`
			},
			{
				// Upstream writes no file for a query with no rows while the manifest still lists one, so
				// every page reading that table fails to build ("could not load source table"). A table
				// that is empty today (e.g. realised performance before any score is 90 days old) is a
				// normal state: write a file with the columns and no rows.
				find: `	if (!tmpFilenames.length) return 0;\n`,
				replace: `	if (!tmpFilenames.length) return writeEmptyParquet(columns, path.join(outDir, outputFilename));\n`
			}
		]
	},
	{
		file: 'src/client-duckdb/node.js',
		sha256: 'b1bbf1f5ae190acefe0f3ceb70d404b7798643523cc20cc4f4d5e24fbaffb471',
		edits: [
			{
				find: `import { withTimeout } from './both.js';\n`,
				replace: `import { withTimeout } from './both.js';
import {
	DISABLE_EXTENSION_DOWNLOADS,
	dropAllTables,
	loadReferencedTables,
	registerTable
} from '../offline/node-tables.js';
`
			},
			{ find: INIT_ANCHOR, replace: INIT_ANCHOR + INIT_ADDITION },
			{
				find: `	if (!append) await emptyDbFs('*');\n\n	const pathDelimiterRegex = /[\\\\/]/;\n`,
				replace: `	if (!append) await emptyDbFs('*');\n	if (!append) dropAllTables(connection);\n\n	const pathDelimiterRegex = /[\\\\/]/;\n`
			},
			{
				find: `			db.registerFileURL(
				file_name,
				url.split(pathDelimiterRegex).join(path.sep),
				DuckDBDataProtocol.NODE_FS,
				false
			);
			connection.query(
				\`CREATE OR REPLACE VIEW "\${source}"."\${table}" AS (SELECT * FROM read_parquet('\${file_name}'));\`
			);
`,
				replace: `			registerTable(connection, source, table, url.split(pathDelimiterRegex).join(path.sep));
`
			},
			{
				find: `	if (!result) {
		result = connection.query(sql);
	}
`,
				replace: `	if (!result) {
		loadReferencedTables(connection, sql);
		result = connection.query(sql);
	}
`
			}
		]
	},
	{
		file: 'src/client-duckdb/browser.js',
		sha256: 'ea0c7f043bac9582e8c933764c386972c1e57fc78ee05c077370a9a0d8b012c6',
		edits: [
			{
				find: `export { tableFromIPC } from 'apache-arrow';\n`,
				replace: `import {
	DISABLE_EXTENSION_DOWNLOADS,
	dropAllTables,
	loadReferencedTables,
	registerTable
} from '../offline/browser-tables.js';

export { tableFromIPC } from 'apache-arrow';
`
			},
			{ find: INIT_ANCHOR, replace: INIT_ANCHOR + INIT_ADDITION },
			{
				find: `	if (!append) await emptyDbFs('*');\n	if (import.meta.env.VITE_EVIDENCE_DEBUG) console.debug('Updating Parquet URLs');\n`,
				replace: `	if (!append) await emptyDbFs('*');\n	if (!append) await dropAllTables(connection);\n	if (import.meta.env.VITE_EVIDENCE_DEBUG) console.debug('Updating Parquet URLs');\n`
			},
			{
				find: `				await db.registerFileURL(file_name, addBasePath(path), DuckDBDataProtocol.HTTP, false);
				await connection.query(
					\`CREATE OR REPLACE VIEW "\${source}"."\${table}" AS (SELECT * FROM read_parquet('\${file_name}'));\`
				);
`,
				replace: `				await registerTable(connection, source, table, addBasePath(path));
`
			},
			{
				find: `	await withTimeout(tablesPromise);\n`,
				replace: `	await withTimeout(tablesPromise);\n	await loadReferencedTables(connection, sql);\n`
			}
		]
	}
];

const ADDED_FILES = ['source-tables.js', 'node-tables.js', 'browser-tables.js', 'merge-parquet.js'];

class PatchError extends Error {}

/** A path as the messages show it: relative to reports/ when inside it. */
const show = (p) => (p.startsWith(REPORTS_DIR + path.sep) ? path.relative(REPORTS_DIR, p) : p);
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

function fail(message) {
	console.error(
		`\npatch-offline-duckdb: FAILED\n  ${message.replaceAll('\n', '\n  ')}\n` +
			`  Without this patch Evidence downloads DuckDB's parquet extension at run time, which fails\n` +
			`  offline. Re-check reports/scripts/patch-offline-duckdb.mjs against the installed upstream code\n` +
			`  before changing the pinned Evidence versions.\n`
	);
	process.exit(1);
}

/** Every installed copy of a package in the node_modules tree at `dir` (nested copies included). */
function findPackageCopies(name, dir, found = []) {
	if (!fs.existsSync(dir)) return found;
	const candidate = path.join(dir, name);
	if (fs.existsSync(path.join(candidate, 'package.json'))) found.push(candidate);
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		if (!entry.isDirectory() || entry.name === '.bin') continue;
		const scoped = entry.name.startsWith('@')
			? fs.readdirSync(path.join(dir, entry.name)).map((n) => path.join(dir, entry.name, n))
			: [path.join(dir, entry.name)];
		for (const pkg of scoped) findPackageCopies(name, path.join(pkg, 'node_modules'), found);
	}
	return found;
}

/** Resolves `name` the way Node would from inside `fromDir`. */
function resolvePackageDir(name, fromDir) {
	for (let dir = fromDir; ; dir = path.dirname(dir)) {
		const candidate = path.join(dir, 'node_modules', name);
		if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
		if (path.dirname(dir) === dir) throw new PatchError(`${name} is not installed (needed from ${fromDir})`);
	}
}

function checkDependencies(pkgDir) {
	for (const [name, versionPattern] of Object.entries(DEPENDENCIES)) {
		const dir = resolvePackageDir(name, pkgDir);
		const { version } = readJson(path.join(dir, 'package.json'));
		if (!versionPattern.test(version))
			throw new PatchError(`${name} ${version} is installed; the patch was written for ${versionPattern}`);
	}
	const duckdb = resolvePackageDir('@duckdb/duckdb-wasm', pkgDir);
	for (const bundle of ['duckdb-node-blocking.cjs', 'duckdb-browser.mjs']) {
		const code = fs.readFileSync(path.join(duckdb, 'dist', bundle), 'utf8');
		if (!code.includes('insertArrowFromIPCStream'))
			throw new PatchError(`@duckdb/duckdb-wasm dist/${bundle} has no insertArrowFromIPCStream`);
	}
	const parquet = resolvePackageDir('parquet-wasm', pkgDir);
	for (const file of ['node/arrow1.js', 'esm/arrow1.js', 'esm/arrow1_bg.wasm']) {
		if (!fs.existsSync(path.join(parquet, file))) throw new PatchError(`parquet-wasm has no ${file}`);
	}
	for (const file of ['node/arrow1.d.ts', 'esm/arrow1.d.ts']) {
		const types = fs.readFileSync(path.join(parquet, file), 'utf8');
		for (const api of ['export function readParquet(', 'export function writeParquet(', 'intoIPCStream(', 'static fromIPCStream('])
			if (!types.includes(api)) throw new PatchError(`parquet-wasm ${file} lacks ${api}`);
	}
}

function patchedText(file, pristine) {
	let text = pristine;
	for (const { find, replace } of file.edits) {
		const count = text.split(find).length - 1;
		if (count !== 1)
			throw new PatchError(
				`${file.file}: expected exactly one occurrence of the passage to edit, found ${count}:\n${find}`
			);
		text = text.replace(find, () => replace);
	}
	if (/read_parquet\(/.test(text.replaceAll(/^\s*\/\/.*$/gm, '')))
		throw new PatchError(`${file.file}: still calls read_parquet after patching`);
	return `${MARKER}\n${text}`;
}

function patchPackage(pkgDir, { checkOnly }) {
	const { version } = readJson(path.join(pkgDir, 'package.json'));
	if (version !== UNIVERSAL_SQL_VERSION)
		throw new PatchError(
			`${pkgDir} is version ${version}; the patch was written for ${UNIVERSAL_SQL_VERSION}`
		);
	checkDependencies(pkgDir);

	// Everything is checked before anything is written: a refused patch leaves the package untouched.
	const planned = PATCHES.map((file) => {
		const target = path.join(pkgDir, file.file);
		const backup = `${target}.orig`;
		const pristinePath = fs.existsSync(backup) ? backup : target;
		const pristine = fs.readFileSync(pristinePath, 'utf8');
		const actual = sha256(pristine);
		if (actual !== file.sha256)
			throw new PatchError(
				`${show(pristinePath)} is not the upstream code this patch edits ` +
					`(sha256 ${actual}, expected ${file.sha256}).`
			);
		return { target, backup, pristine, wanted: patchedText(file, pristine) };
	});
	for (const { target, backup, pristine, wanted } of planned) {
		if (checkOnly) {
			if (fs.readFileSync(target, 'utf8') !== wanted)
				throw new PatchError(`${show(target)} is not patched (run npm ci)`);
			continue;
		}
		if (!fs.existsSync(backup)) fs.writeFileSync(backup, pristine);
		fs.writeFileSync(target, wanted);
	}

	const addedDir = path.join(pkgDir, 'src', 'offline');
	if (!checkOnly) fs.mkdirSync(addedDir, { recursive: true });
	for (const name of ADDED_FILES) {
		const wanted = fs.readFileSync(path.join(ADDED_DIR, name), 'utf8');
		const target = path.join(addedDir, name);
		if (checkOnly) {
			if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== wanted)
				throw new PatchError(`${show(target)} is missing or stale (run npm ci)`);
		} else {
			fs.writeFileSync(target, wanted);
		}
	}
}

/** Runs in a child process: the patched Node client must build and read a multi-batch table. */
async function selfTest(pkgDir) {
	const src = (p) => pathToFileURL(path.join(pkgDir, 'src', p)).href;
	const { buildMultipartParquet } = await import(src('build-parquet.js'));
	const client = await import(src('client-duckdb/node.js'));

	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'offline-duckdb-selftest-'));
	try {
		const columns = [
			{ name: 'account_id', evidenceType: 'string' },
			{ name: 'arr', evidenceType: 'number' },
			{ name: 'renewal', evidenceType: 'date' },
			{ name: 'is_red', evidenceType: 'boolean' }
		];
		const rows = [
			{ account_id: 'a', arr: 1000.5, renewal: new Date('2026-01-31T00:00:00Z'), is_red: true },
			{ account_id: 'b', arr: 250, renewal: new Date('2026-03-01T00:00:00Z'), is_red: false },
			{ account_id: 'c', arr: 99.5, renewal: null, is_red: false }
		];
		const outDir = path.join(tmp, 'out');
		const file = 'selftest/accounts/accounts.parquet';
		// batch size 2 forces the multi-batch merge, with a date column that is all NULL in one batch
		const written = await buildMultipartParquet(columns, rows, path.join(tmp, 'tmp'), outDir, file, 2);
		if (written !== 3) throw new Error(`buildMultipartParquet wrote ${written} rows, expected 3`);

		// A query with no rows still gives a table, with its columns and their types.
		const emptyFile = 'selftest/no_accounts/no_accounts.parquet';
		const none = await buildMultipartParquet(columns, [], path.join(tmp, 'tmp'), outDir, emptyFile, 2);
		if (none !== 0) throw new Error(`buildMultipartParquet wrote ${none} rows for no rows`);
		// evalSources writes the column types beside each file
		fs.writeFileSync(path.join(outDir, 'selftest/no_accounts/no_accounts.schema.json'), JSON.stringify(columns));

		await client.setParquetURLs({ selftest: [path.join(outDir, file), path.join(outDir, emptyFile)] });
		client.updateSearchPath(['selftest']);
		const [summary] = client.query(
			`SELECT count(*) AS n, sum(arr) AS arr, count(renewal) AS dated, max(renewal) AS last_renewal,
			        count(*) FILTER (WHERE is_red) AS red
			 FROM accounts`
		);
		const got = JSON.stringify({ ...summary, last_renewal: summary.last_renewal?.toISOString?.() });
		const expected = JSON.stringify({ n: 3, arr: 1350, dated: 2, last_renewal: '2026-03-01T00:00:00.000Z', red: 1 });
		if (got !== expected) throw new Error(`query returned ${got}, expected ${expected}`);

		const types = client
			.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'accounts'`)
			.map((r) => `${r.column_name}:${r.data_type}`)
			.join(',');
		const expectedTypes = 'account_id:VARCHAR,arr:DOUBLE,renewal:TIMESTAMP,is_red:BOOLEAN';
		if (types !== expectedTypes) throw new Error(`column types ${types}, expected ${expectedTypes}`);

		const [empty] = client.query(`SELECT count(*) AS n, count(renewal) AS dated FROM no_accounts`);
		if (JSON.stringify(empty) !== JSON.stringify({ n: 0, dated: 0 }))
			throw new Error(`the table with no rows returned ${JSON.stringify(empty)}`);
		const emptyTypes = client
			.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'no_accounts'`)
			.map((r) => `${r.column_name}:${r.data_type}`)
			.join(',');
		if (emptyTypes !== expectedTypes) throw new Error(`column types ${emptyTypes} of the table with no rows`);

		// Extensions are off: what needs one must fail at once, not try to download it.
		let downloaded = true;
		try {
			client.query(`SELECT * FROM read_parquet('${path.join(outDir, file)}')`);
		} catch (e) {
			downloaded = !/parquet/i.test(String(e.message));
		}
		if (downloaded) throw new Error('read_parquet did not fail fast with extensions disabled');
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

async function main() {
	const args = process.argv.slice(2);
	if (args[0] === '--self-test') {
		await selfTest(args[1]);
		return;
	}
	const checkOnly = args.includes('--check');
	const at = args.indexOf('--node-modules');
	const nodeModules = path.resolve(at >= 0 ? args[at + 1] : path.join(REPORTS_DIR, 'node_modules'));
	const copies = findPackageCopies('@evidence-dev/universal-sql', nodeModules);
	if (copies.length === 0) fail(`@evidence-dev/universal-sql is not installed under ${nodeModules}`);
	for (const pkgDir of copies) {
		try {
			patchPackage(pkgDir, { checkOnly });
		} catch (e) {
			if (e instanceof PatchError) fail(e.message);
			throw e;
		}
		if (args.includes('--skip-self-test')) {
			console.log(`patch-offline-duckdb: ${show(pkgDir)} ${checkOnly ? 'is patched' : 'patched'} (self-test skipped)`);
			continue;
		}
		const started = Date.now();
		const test = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--self-test', pkgDir], {
			cwd: REPORTS_DIR,
			encoding: 'utf8',
			timeout: 120_000
		});
		if (test.status !== 0)
			fail(
				`self-test of the patched ${show(pkgDir)} failed` +
					(test.signal ? ` (killed by ${test.signal}: a hang means something tried the network)` : '') +
					`:\n${(test.stderr || test.stdout || '').trim()}`
			);
		console.log(
			`patch-offline-duckdb: ${show(pkgDir)} ${checkOnly ? 'is patched' : 'patched'}` +
				` (no DuckDB extension downloads); self-test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`
		);
	}
}

await main();
