#!/usr/bin/env node
// Drives Debian's chromium (through playwright-core from reports/node_modules) over the built report
// site and prints what it saw as JSON; tests/reports/test_reports_site.py makes the assertions.
//
//   node tests/reports/browser_check.mjs '<json spec>'
// spec: { baseUrl, artifactsDir, pages: [{ name, path, bigValueTitles?, waitForRows? }], segment,
//         clickedAccountName, chromium? }
//
// Observed: each page loaded directly (headings, BigValue texts, every table's rows), the at-risk table
// after choosing `segment` in the Segment dropdown (that query runs in the page, in DuckDB-Wasm), the
// account page reached by clicking the first filtered row, every request the browser made (workers
// included), console errors, page errors, failed requests and HTTP errors. Screenshots of the
// portfolio and account pages go to artifactsDir.
import path from 'node:path';
import { openBrowser } from './chromium.mjs';

const spec = JSON.parse(process.argv[2]);
const TIMEOUT = 30_000;

const observed = {
	requests: [],
	consoleErrors: [],
	pageErrors: [],
	failedRequests: [],
	httpErrors: [],
	screenshots: {}
};

/** Text of each BigValue, found by its title. */
const readBigValues = (page, titles) =>
	page.evaluate((titles) => {
		const out = {};
		for (const title of titles) {
			const label = [...document.querySelectorAll('article p')].find((p) => p.innerText.trim() === title);
			out[title] = label?.nextElementSibling?.innerText.trim() ?? null;
		}
		return out;
	}, titles);

// DataTable renders a second copy of each table inside a (closed) full-screen <dialog>; rows are
// the <tr>s with <td>s (there is no <tbody>).
const TABLES = `article table:not(dialog table)`;
// Data rows have two cells or more (a one-column link table sits in some pages' layout).
const ROWS = `${TABLES} tr:has(td + td)`;

/** Header and body cell texts of the `index`-th table in the article. */
const readTable = (page, index = 0) =>
	page.evaluate(
		([selector, index]) => {
			const table = document.querySelectorAll(selector)[index];
			if (!table) return null;
			const texts = (cells) => [...cells].map((c) => c.innerText.trim());
			return {
				headers: texts(table.querySelectorAll('th[role="columnheader"]')),
				rows: [...table.querySelectorAll('tr')]
					.filter((tr) => tr.querySelector('td'))
					.map((tr) => texts(tr.querySelectorAll('td')))
			};
		},
		[TABLES, index]
	);


const { context, close } = await openBrowser({ executablePath: spec.chromium, width: 1280 });

try {
	context.on('request', (r) => observed.requests.push(r.url()));
	context.on('requestfailed', (r) =>
		observed.failedRequests.push({ url: r.url(), failure: r.failure()?.errorText ?? '' })
	);
	context.on('response', (r) => {
		if (r.status() >= 400) observed.httpErrors.push({ url: r.url(), status: r.status() });
	});
	const watch = (page) => {
		page.on('console', (m) => {
			if (m.type() === 'error') observed.consoleErrors.push({ page: page.url(), text: m.text() });
		});
		page.on('pageerror', (e) => observed.pageErrors.push({ page: page.url(), text: String(e) }));
	};
	context.on('page', watch);

	// Every page: loaded directly, its BigValues and tables read once the page's queries are done.
	observed.pages = {};
	for (const { name, path: urlPath, bigValueTitles = [], waitForRows = true } of spec.pages) {
		const page = await context.newPage();
		await page.goto(`${spec.baseUrl}${urlPath}`, { waitUntil: 'networkidle', timeout: TIMEOUT });
		if (waitForRows) await page.locator(ROWS).first().waitFor({ timeout: TIMEOUT });
		if (name === 'account') await page.locator('article h1', { hasText: spec.accountName }).waitFor({ timeout: TIMEOUT });
		const tables = [];
		for (let i = 0; i < (await page.locator(TABLES).count()); i++) tables.push(await readTable(page, i));
		observed.pages[name] = {
			url: page.url(),
			headings: await page.locator('article h1').allInnerTexts(),
			bigValues: await readBigValues(page, bigValueTitles),
			tables
		};
		if (name === 'portfolio' || name === 'account') {
			await page.locator('article canvas').first().waitFor({ timeout: TIMEOUT });
			const shot = path.join(spec.artifactsDir, `${name}.png`);
			await page.screenshot({ path: shot, fullPage: true });
			observed.screenshots[name] = shot;
		}
		if (name !== 'atRisk') await page.close();
	}

	// At-risk page: the Segment dropdown filters the table (the query runs in the page's DuckDB).
	const atRisk = context.pages().find((p) => p.url().includes('/at-risk/'));
	await atRisk.getByRole('combobox', { name: 'Segment' }).click();
	observed.dropdownOptions = await atRisk.getByRole('option').allInnerTexts();
	await atRisk.getByRole('option', { name: spec.segment, exact: true }).click();
	// The ranked table is the one whose first column is Account (accounts that gave notice have
	// their own table above it, first column Contract ends, which may be empty after filtering).
	const rankedIndex = () =>
		atRisk.evaluate(
			(selector) =>
				[...document.querySelectorAll(selector)].findIndex(
					(t) => t.querySelector('th[role="columnheader"]')?.innerText.trim() === 'Account'
				),
			TABLES
		);
	await atRisk.waitForFunction(
		([tablesSelector, segment]) => {
			const table = [...document.querySelectorAll(tablesSelector)].find(
				(t) => t.querySelector('th[role="columnheader"]')?.innerText.trim() === 'Account'
			);
			const ranked = table ? [...table.querySelectorAll('tr:has(td + td)')] : [];
			const rankedSegments = ranked.map((tr) => tr.querySelectorAll('td')[1]?.innerText.trim());
			return rankedSegments.length > 0 && rankedSegments.every((s) => s === segment);
		},
		[TABLES, spec.segment],
		{ timeout: TIMEOUT }
	);
	const ranked = await rankedIndex();
	observed.filtered = { table: await readTable(atRisk, ranked) };

	// Clicking the first filtered row opens that account's page (client-side navigation).
	await Promise.all([
		atRisk.waitForURL(/\/accounts\/\?id=/, { timeout: TIMEOUT }),
		atRisk.locator(TABLES).nth(ranked).locator('tr:has(td + td)').first().click()
	]);
	await atRisk.waitForLoadState('networkidle');
	await atRisk.locator('article h1', { hasText: spec.clickedAccountName }).waitFor({ timeout: TIMEOUT });
	observed.clickedAccount = {
		url: atRisk.url(),
		headings: await atRisk.locator('article h1').allInnerTexts()
	};
} catch (e) {
	observed.driverError = String(e?.stack ?? e);
} finally {
	await close();
}

process.stdout.write(JSON.stringify(observed));
