// Debian's chromium through playwright-core from reports/node_modules (no browser download), started
// the way this machine allows: as root, headless, with nothing reaching for the network. Shared by
// the report tests' browser scripts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPORTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../reports');
const { chromium } = createRequire(path.join(REPORTS_DIR, 'package.json'))('playwright-core');

/** A fresh browser context (its own profile folder, removed by `close()`) at `width` x 900. */
export async function openBrowser({ executablePath, width }) {
	const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reports-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: executablePath ?? '/usr/bin/chromium',
		headless: true, // playwright adds --headless
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			// Anything off 127.0.0.1 cannot resolve; it would still show up in the requests seen.
			'--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'
		],
		viewport: { width, height: 900 }
	});
	const close = async () => {
		await context.close();
		fs.rmSync(userDataDir, { recursive: true, force: true });
	};
	return { context, close };
}
