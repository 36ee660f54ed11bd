// Part of the offline DuckDB patch (reports/scripts/patch-offline-duckdb.mjs), copied into
// @evidence-dev/universal-sql/src/offline/ at install time.
//
// DuckDB-Wasm has no Parquet reader built in: `read_parquet` makes it download the parquet extension
// from the DuckDB extensions host, which hangs or fails offline (duckdb-wasm #2010, evidence #3155).
// Instead each source table's Parquet file is decoded with parquet-wasm and inserted as Arrow. A table
// is loaded the first time a query names it, so a page only fetches the tables its queries use (the
// upstream views over read_parquet were lazy in the same way).

/** Run right after DuckDB opens: any remaining path that needs an extension fails at once instead of
 *  reaching for the network. */
export const DISABLE_EXTENSION_DOWNLOADS = [
	'SET autoinstall_known_extensions = false',
	'SET autoload_known_extensions = false'
];

// Queries that list tables rather than name them need every table present.
const CATALOG_QUERY =
	/\b(information_schema|duckdb_tables|duckdb_columns|duckdb_views|sqlite_master|show\s+(all\s+)?tables|show_tables|table_info)\b/i;

const quoteIdent = (name) => `"${String(name).replaceAll('"', '""')}"`;
const quoteString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * @typedef {{ source: string, table: string, location: string, qualified: string,
 *             pattern: RegExp, loaded: boolean, loading?: Promise<void> | null }} SourceTable
 */

/** The source tables the manifest lists, and which of them are loaded into DuckDB. */
export class SourceTables {
	constructor() {
		/** @type {Map<string, SourceTable>} */
		this.entries = new Map();
	}

	/**
	 * Registers (or re-registers) a table; returns the entry it replaces, if any.
	 * @returns {SourceTable | undefined}
	 */
	register(source, table, location) {
		const qualified = `${quoteIdent(source)}.${quoteIdent(table)}`;
		const previous = this.entries.get(qualified);
		this.entries.set(qualified, {
			source,
			table,
			location,
			qualified,
			// The table's name as a whole word, bare or quoted, with or without its schema.
			pattern: new RegExp(`(?<![\\w$])${escapeRegExp(table)}(?![\\w$])`, 'i'),
			loaded: false,
			loading: null
		});
		return previous;
	}

	/** Forgets every table; returns the entries that were registered. */
	clear() {
		const all = [...this.entries.values()];
		this.entries.clear();
		return all;
	}

	/**
	 * The tables `sql` may read that are not loaded yet. Matching by name can only over-load (a
	 * column or alias with a table's name loads that table too), never miss a table.
	 * @param {string} sql
	 * @returns {SourceTable[]}
	 */
	unloadedReferencedBy(sql) {
		const all = CATALOG_QUERY.test(sql);
		return [...this.entries.values()].filter((e) => !e.loaded && (all || e.pattern.test(sql)));
	}
}

/** @param {SourceTable} entry */
export const describeSql = (entry) =>
	`SELECT column_name, data_type FROM information_schema.columns ` +
	`WHERE table_schema = ${quoteString(entry.source)} AND table_name = ${quoteString(entry.table)}`;

/**
 * Evidence writes date columns as Arrow timestamp[ms]; read_parquet turned them into TIMESTAMP,
 * Arrow insertion keeps TIMESTAMP_MS. Convert so page SQL sees the types it saw upstream.
 * @param {SourceTable} entry
 * @param {{ column_name: string, data_type: string }[]} columns
 * @returns {string[]}
 */
export const normalizeTypesSql = (entry, columns) =>
	columns
		.filter((c) => ['TIMESTAMP_MS', 'TIMESTAMP_S'].includes(String(c.data_type)))
		.map(
			(c) =>
				`ALTER TABLE ${entry.qualified} ALTER COLUMN ${quoteIdent(c.column_name)} SET DATA TYPE TIMESTAMP`
		);

/** @param {SourceTable} entry */
export const dropSql = (entry) => `DROP TABLE IF EXISTS ${entry.qualified}`;

/** @param {SourceTable} entry @param {unknown} error */
export const loadError = (entry, error) =>
	new Error(
		`offline-duckdb: could not load source table ${entry.qualified} from ${entry.location}: ` +
			(error instanceof Error ? error.message : String(error)),
		{ cause: error }
	);

// DuckDB's type for each Evidence column type (what read_parquet made of buildMultipartParquet's files).
const DUCKDB_TYPES = { number: 'DOUBLE', string: 'VARCHAR', date: 'TIMESTAMP', boolean: 'BOOLEAN' };

/** Where Evidence wrote a source table's column types: `<table>.schema.json` beside its Parquet file. */
export const schemaLocation = (location) => location.replace(/\.parquet$/, '.schema.json');

/**
 * The statements that create a source table with no rows (its Parquet file has no record batches).
 * @param {SourceTable} entry
 * @param {{ name: string, evidenceType: string }[]} columns from `<table>.schema.json`
 * @returns {string[]}
 */
export const createEmptyTableSql = (entry, columns) => {
	const definitions = columns.map((c) => {
		const type = DUCKDB_TYPES[c.evidenceType];
		if (!type) throw new Error(`unknown Evidence column type ${c.evidenceType} of ${c.name}`);
		return `${quoteIdent(c.name)} ${type}`;
	});
	return [
		`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(entry.source)}`,
		`CREATE TABLE ${entry.qualified} (${definitions.join(', ')})`
	];
};
