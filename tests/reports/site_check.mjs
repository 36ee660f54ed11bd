#!/usr/bin/env node
// Opens each page of a built report site in Debian's chromium, at a laptop's width, and prints what a
// reader meets as JSON: errors (console, page, failed or 4xx/5xx requests, Evidence's error blocks),
// the headings, the paragraphs, every table (headers, rows, its own horizontal scroll, each column's
// width, the tallest row) and whether the page itself scrolls sideways. The assertions are made in
// Python (tests/end_to_end/test_first_run.py, tests/reports/).
//
//   node tests/reports/site_check.mjs '<json spec>'
// spec: { baseUrl, paths: ["/", "/alerts/", ...], width?, artifactsDir?, chromium? }
import path from 'node:path';
import { openBrowser } from './chromium.mjs';

const spec = JSON.parse(process.argv[2]);
const TIMEOUT = 30_000;
const width = spec.width ?? 1440;

const { context, close } = await openBrowser({ executablePath: spec.chromium, width });

const observed = { pages: {} };
try {
	for (const urlPath of spec.paths) {
		const seen = { consoleErrors: [], pageErrors: [], failedRequests: [], httpErrors: [] };
		const page = await context.newPage();
		page.on('console', (m) => {
			if (m.type() === 'error') seen.consoleErrors.push(m.text());
		});
		page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
		page.on('requestfailed', (r) => seen.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
		page.on('response', (r) => {
			if (r.status() >= 400) seen.httpErrors.push(`${r.status()} ${r.url()}`);
		});
		await page.goto(`${spec.baseUrl}${urlPath}`, { waitUntil: 'networkidle', timeout: TIMEOUT });
		// Queries that run in the page (inputs, the account page) settle after the network does.
		await page.waitForTimeout(1500);
		const content = await page.evaluate(() => {
			const article = document.querySelector('article') ?? document.body;
			const texts = (nodes) => [...nodes].map((n) => n.innerText.trim()).filter(Boolean);
			const tables = [...article.querySelectorAll('table:not(dialog table)')].map((table) => {
				const scroller = table.closest('.scrollbox') ?? table.parentElement;
				const headers = [...table.querySelectorAll('thead th')];
				const bodyRows = [...table.querySelectorAll('tr')].filter((tr) => tr.querySelector('td'));
				return {
					headers: headers.map((th) => th.innerText.trim()),
					columnWidths: headers.map((th) => Math.round(th.getBoundingClientRect().width)),
					rows: bodyRows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())),
					tallestRow: Math.max(0, ...bodyRows.map((tr) => Math.round(tr.getBoundingClientRect().height))),
					scrollsSideways: scroller.scrollWidth > scroller.clientWidth + 1,
					width: Math.round(table.getBoundingClientRect().width),
					visibleWidth: Math.round(scroller.clientWidth)
				};
			});
			return {
				headings: texts(article.querySelectorAll('h1, h2')),
				paragraphs: texts(article.querySelectorAll('p')),
				text: article.innerText,
				tables,
				charts: article.querySelectorAll('canvas, svg.echarts, div[_echarts_instance_]').length,
				pageScrollsSideways: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
				height: document.documentElement.scrollHeight
			};
		});
		if (spec.artifactsDir) {
			const name = urlPath.replaceAll(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'index';
			await page.screenshot({ path: path.join(spec.artifactsDir, `${name}.png`), fullPage: true });
		}
		observed.pages[urlPath] = { ...seen, ...content };
		await page.close();
	}
} catch (e) {
	observed.driverError = String(e?.stack ?? e);
} finally {
	await close();
}
process.stdout.write(JSON.stringify(observed));
