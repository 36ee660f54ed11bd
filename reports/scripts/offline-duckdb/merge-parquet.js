// Part of the offline DuckDB patch (reports/scripts/patch-offline-duckdb.mjs), copied into
// @evidence-dev/universal-sql/src/offline/. Replaces buildMultipartParquet's
// `COPY (SELECT * FROM read_parquet([...])) TO ... (FORMAT PARQUET)`, which needs DuckDB-Wasm's
// downloadable parquet extension, with parquet-wasm: the batch files it wrote are joined into one
// ZSTD Parquet file. Also writes the file of a table with no rows, which upstream leaves out.
import { copyFile, mkdir, readFile, writeFile } from 'fs/promises';
import path from 'path';
import {
	Bool,
	Float64,
	makeData,
	makeVector,
	Table as ArrowTable,
	tableFromIPC,
	tableToIPC,
	TimestampMillisecond,
	Type,
	Utf8,
	vectorFromArray
} from 'apache-arrow';
import {
	Compression,
	readParquet,
	Table as WasmTable,
	WriterPropertiesBuilder,
	writeParquet
} from 'parquet-wasm/node/arrow1.js';

const allNull = (vector) => vector.nullCount === vector.length;

/** A column of `length` NULLs of `type`. Not for booleans: apache-arrow writes an all-NULL boolean
 *  column with an empty value buffer, which parquet-wasm (arrow-rs) rejects. */
function nullVector(type, length) {
	const validity = new Uint8Array(Math.ceil(length / 8));
	switch (type.typeId) {
		case Type.Utf8:
			return makeVector(
				makeData({ type, length, nullCount: length, nullBitmap: validity, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) })
			);
		case Type.Float:
		case Type.Int:
		case Type.Timestamp:
		case Type.Date:
			return makeVector(makeData({ type, length, nullCount: length, nullBitmap: validity, data: new type.ArrayType(length) }));
		default:
			return null;
	}
}

/**
 * @param {string[]} batchFiles Parquet files of one table with the same columns, in order
 * @param {string} outputFile
 */
export async function mergeParquetFiles(batchFiles, outputFile) {
	// A single batch is already the file wanted (same writer, same ZSTD codec).
	if (batchFiles.length === 1) return copyFile(batchFiles[0], outputFile);

	const tables = [];
	for (const file of batchFiles) tables.push(tableFromIPC(readParquet(await readFile(file)).intoIPCStream()));

	// buildMultipartParquet writes a date or boolean column that is all NULL in a batch as Float64:
	// take each column's type from a batch where it has values, and give the all-NULL ones that type.
	const names = tables[0].schema.fields.map((f) => f.name);
	const types = names.map((name) => {
		const withValues = tables.find((t) => !allNull(t.getChild(name)));
		return (withValues ?? tables[0]).schema.fields.find((f) => f.name === name).type;
	});
	const aligned = tables.map((table, i) => {
		const batchNames = table.schema.fields.map((f) => f.name);
		if (batchNames.join('\0') !== names.join('\0'))
			throw new Error(
				`offline-duckdb: cannot merge ${batchFiles[i]}: columns ${batchNames} differ from ${names}`
			);
		const columns = names.map((name, c) => {
			const vector = table.getChild(name);
			if (String(vector.type) === String(types[c])) return [name, vector];
			const nulls = allNull(vector) ? nullVector(types[c], vector.length) : null;
			if (!nulls)
				throw new Error(
					`offline-duckdb: cannot merge ${batchFiles[i]}: column ${name} is ${vector.type} there ` +
						`and ${types[c]} in another batch (a boolean column that is NULL for a whole batch of ` +
						`rows). Cast it in the source query, e.g. to VARCHAR.`
				);
			return [name, nulls];
		});
		return new ArrowTable(Object.fromEntries(columns));
	});
	const merged = aligned[0].concat(...aligned.slice(1));
	for (const field of merged.schema.fields) field.nullable = true;

	const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
	await writeFile(
		outputFile,
		writeParquet(WasmTable.fromIPCStream(tableToIPC(merged, 'stream')), properties)
	);
}

// The Arrow type buildMultipartParquet gives each Evidence column type.
const ARROW_TYPES = {
	number: () => new Float64(),
	string: () => new Utf8(),
	date: () => new TimestampMillisecond(),
	boolean: () => new Bool()
};

/**
 * A Parquet file with `columns` and no rows. parquet-wasm reads it back as a table with no record
 * batches, which it cannot turn into Arrow IPC: the loaders then create the empty table from the
 * `<table>.schema.json` Evidence writes beside it (see source-tables.js).
 * @param {{name: string, evidenceType: string}[]} columns
 * @param {string} outputFile
 * @returns {Promise<number>} the rows written: 0
 */
export async function writeEmptyParquet(columns, outputFile) {
	const vectors = Object.fromEntries(
		columns.map((c) => {
			const type = ARROW_TYPES[c.evidenceType];
			if (!type) throw new Error(`offline-duckdb: unknown Evidence column type ${c.evidenceType} of ${c.name}`);
			return [c.name, vectorFromArray([], type())];
		})
	);
	const table = new ArrowTable(vectors);
	for (const field of table.schema.fields) field.nullable = true;
	const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
	await mkdir(path.dirname(outputFile), { recursive: true });
	await writeFile(outputFile, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties));
	return 0;
}
