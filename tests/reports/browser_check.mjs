#!/usr/bin/env node
// Drives Debian's chromium (through playwright-core from reports/node_modules) over the built report
// site and prints what it saw as JSON; tests/reports/test_reports_site.py makes the assertions.
//
//   node tests/reports/browser_check.mjs '<json spec>'
// spec: { baseUrl, artifactsDir, bigValueTitles: [..], segment, directAccountId, chromium? }
//
// Observed: BigValue texts and table rows on the portfolio page, the table after choosing `segment` in
// the Segment dropdown (that query runs in the page, in DuckDB-Wasm), the account page reached by
// clicking the first filtered row, an account page loaded directly, every request the browser made
// (workers included), console errors, page errors, failed requests and HTTP errors. Screenshots go to
// artifactsDir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPORTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../reports');
const { chromium } = createRequire(path.join(REPORTS_DIR, 'package.json'))('playwright-core');

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
const ROWS = `${TABLES} tr:has(td)`;

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

const waitForRows = (page) => page.locator(ROWS).first().waitFor({ timeout: TIMEOUT });

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reports-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
	executablePath: spec.chromium ?? '/usr/bin/chromium',
	headless: true, // playwright adds --headless
	args: [
		'--no-sandbox',
		'--disable-gpu',
		'--disable-quic',
		'--no-first-run',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync',
		// Anything off 127.0.0.1 cannot resolve; it would still show up in `requests`.
		'--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'
	],
	viewport: { width: 1280, height: 900 }
});

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

	// Portfolio: prerendered numbers, then the table that the page's DuckDB fills in.
	const page = context.pages()[0] ?? (await context.newPage());
	watch(page);
	await page.goto(`${spec.baseUrl}/`, { waitUntil: 'networkidle', timeout: TIMEOUT });
	await waitForRows(page);
	observed.portfolio = {
		bigValues: await readBigValues(page, spec.bigValueTitles),
		table: await readTable(page)
	};
	const portfolioShot = path.join(spec.artifactsDir, 'portfolio.png');
	await page.screenshot({ path: portfolioShot, fullPage: true });
	observed.screenshots.portfolio = portfolioShot;

	// Segment dropdown: the filtered query runs in the browser.
	await page.getByRole('combobox', { name: 'Segment' }).click();
	observed.dropdownOptions = await page.getByRole('option').allInnerTexts();
	await page.getByRole('option', { name: spec.segment, exact: true }).click();
	await page.waitForFunction(
		([rowsSelector, segment]) => {
			const rows = [...document.querySelectorAll(rowsSelector)];
			const segments = rows.map((tr) => tr.querySelectorAll('td')[2]?.innerText.trim());
			return segments.length > 0 && segments.every((s) => s === segment);
		},
		[ROWS, spec.segment],
		{ timeout: TIMEOUT }
	);
	observed.filtered = { table: await readTable(page) };

	// Clicking a row follows its link to the account page (client-side navigation).
	await Promise.all([
		page.waitForURL(/\/accounts\/[^/]+\/$/, { timeout: TIMEOUT }),
		page.locator(ROWS).first().click()
	]);
	await page.waitForLoadState('networkidle');
	await waitForRows(page);
	observed.clickedAccount = {
		url: page.url(),
		headings: await page.locator('article h1').allInnerTexts(),
		bigValues: await readBigValues(page, ['ARR', 'Health score']),
		table: await readTable(page)
	};

	// An account page loaded directly (prerendered), with its chart drawn.
	const direct = await context.newPage();
	await direct.goto(`${spec.baseUrl}/accounts/${spec.directAccountId}/`, {
		waitUntil: 'networkidle',
		timeout: TIMEOUT
	});
	await waitForRows(direct);
	await direct.locator('article canvas').first().waitFor({ timeout: TIMEOUT });
	observed.directAccount = {
		url: direct.url(),
		headings: await direct.locator('article h1').allInnerTexts(),
		bigValues: await readBigValues(direct, ['ARR', 'Health score']),
		table: await readTable(direct)
	};
	const accountShot = path.join(spec.artifactsDir, `account-${spec.directAccountId}.png`);
	await direct.screenshot({ path: accountShot, fullPage: true });
	observed.screenshots.account = accountShot;
} catch (e) {
	observed.driverError = String(e?.stack ?? e);
} finally {
	await context.close();
	fs.rmSync(userDataDir, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify(observed));
