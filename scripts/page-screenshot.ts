// Screenshot of a run's exported page in headless Chromium (the README's docs/images/web-page.png):
//   node --import tsx scripts/page-screenshot.ts RUN OUT.png [QUERY]      e.g. QUERY '?seed=0'
// Needs Chromium: Debian's /usr/bin/chromium (apt-get install -y chromium), or the path in DCGAN_CHROMIUM.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { serveFolder } from '../src/export/serve.js';
import { exportWeb } from '../src/export/web.js';

const [run, out, query = '?seed=0'] = process.argv.slice(2);
if (!run || !out) {
  console.error('usage: node --import tsx scripts/page-screenshot.ts RUN OUT.png [?seed=S&n=N&cols=C]');
  process.exit(2);
}
const temp = await mkdtemp(path.join(os.tmpdir(), 'dcgan-screenshot-'));
const { dir } = await exportWeb({ run, dir: path.join(temp, 'page') });
const server = await serveFolder(dir, 0);
let browser: Browser | undefined;
try {
  browser = await puppeteer.launch({
    executablePath: process.env.DCGAN_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(temp, 'profile')}`],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 860, height: 600 });
  await page.goto(server.url + query);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== 'ready') throw new Error(`the page says ${state}`);
  await page.screenshot({ path: out, fullPage: true });
  console.error(`${out}: ${await page.evaluate(() => document.getElementById('status')!.textContent)}`);
} finally {
  await browser?.close();
  await server.close();
  await rm(temp, { recursive: true, force: true });
}
