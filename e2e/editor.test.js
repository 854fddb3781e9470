// End-to-end tests of the scenario editor and share links: the release build in dist/, served by
// a tiny static server, driven by playwright-core in Debian's /usr/bin/chromium (as
// inspector.test.js). Screenshots and the downloaded image go to e2e/out/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { start, stop, countRecords, ROOT, DIST, OUT } from './harness.js';

let h, browser, base;

before(async () => {
  h = await start({});
  ({ browser, base } = h);
});
after(() => stop(h));

/** A fresh page (own context: own clipboard, own downloads) at `url`, with page errors collected. */
async function open(url = base, viewport = { width: 1440, height: 1000 }) {
  const context = await browser.newContext({
    viewport,
    acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
  return { page, errors, close: () => context.close() };
}

async function stat(page, name) {
  return Number((await page.textContent(`#summary [data-stat="${name}"] b`)).replace(/,/g, ''));
}

/** The `restore` CLI if a build of it is there (cargo test builds target/debug/restore). */
function restoreCli() {
  const dirs = [process.env.CARGO_TARGET_DIR, path.join(ROOT, 'target')].filter(Boolean);
  for (const d of dirs) {
    for (const p of ['debug', 'release']) {
      const bin = path.join(d, p, 'restore');
      if (fs.existsSync(bin)) return bin;
    }
  }
  return null;
}

async function select(page, sel, value) {
  await page.selectOption(sel, value);
}

test('editor: edit a fixture, see diagnostics and graph follow, download the image, share it', async (t) => {
  const { page, errors, close } = await open();
  await page.click('.gallery-item[data-name="listener-pending"]');
  await page.waitForSelector('#edit-start');
  await page.waitForSelector('#graph .node');
  const n0 = await stat(page, 'sockets');
  const pending0 = await page.locator('#graph .edge.pending').count();
  await page.click('#edit-start');
  await page.waitForSelector('#editor.open');
  assert.equal(await page.locator('#edit-notes').count(), 0, 'a valid fixture reads back exactly');
  const listener = await page.locator('#edit-sockets tbody tr', { hasText: 'listening' }).getAttribute('data-name');

  // socket(): a new stream socket.
  await page.fill('#add-name', 'n1');
  await select(page, '#add-type', 'stream');
  await page.click('#add-socket');
  await page.waitForSelector('#edit-sockets tr[data-name="n1"]');
  assert.equal(await stat(page, 'sockets'), n0 + 1);
  assert.equal(await page.locator('#graph .node').count(), n0 + 1);
  assert.match(await page.textContent('#summary .file'), /listener-pending-edited\.rsimg/);

  // connect(): a third pending connection on the listener (a new embryo and pending edge).
  await select(page, '#connect-client', 'n1');
  await select(page, '#connect-server', listener);
  await page.click('#connect');
  await page.waitForFunction((n) => document.querySelectorAll('#graph .node').length === n, n0 + 2);
  assert.equal(await stat(page, 'sockets'), n0 + 2);
  assert.equal(await page.locator('#graph .edge.pending').count(), pending0 + 1);
  assert.match(await page.textContent('#edit-sockets tr[data-name="n1"] .what'), new RegExp(`pending on ${listener}`));

  // send(): before accept() the data waits on the embryo.
  await select(page, '#send-from', 'n1');
  await select(page, '#send-to', '');
  await page.fill('#send-data', 'hello from e2e');
  await page.click('#send');
  await page.waitForFunction((l) => document.querySelector(`#edit-sockets tr[data-name="${l}"]`)?.textContent.includes('pending: n1, sent 1'), listener);
  assert.equal(await page.getAttribute('#editor-verdict', 'data-errors'), '0');
  assert.equal(await page.locator('#diagnostics .diag').count(), 0);
  assert.match(await page.textContent('#timeline .verdict'), /reproduces/);

  // Live validation: backlog 0 with three pending connections is reported at once; 5 clears it.
  await select(page, '#listen-socket', listener);
  await page.fill('#listen-backlog', '0');
  await page.click('#listen');
  await page.waitForSelector('#diagnostics .diag[data-code="backlog-exceeded"]');
  await page.screenshot({ path: path.join(OUT, 'editor-backlog.png'), fullPage: true });
  await page.fill('#listen-backlog', '5');
  await page.click('#listen');
  await page.waitForSelector('#diagnostics .diag[data-code="backlog-exceeded"]', { state: 'detached' });

  // A refused edit says why and changes nothing.
  const bytesBefore = await stat(page, 'bytes');
  await page.click('#connect');
  assert.match(await page.textContent('#edit-error'), /EISCONN/);
  assert.equal(await stat(page, 'bytes'), bytesBefore);
  await page.screenshot({ path: path.join(OUT, 'editor.png'), fullPage: true });

  // Download: the bytes are the image shown, and they parse.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#edit-download')]);
  assert.equal(download.suggestedFilename(), 'listener-pending-edited.rsimg');
  const file = path.join(OUT, 'listener-pending-edited.rsimg');
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.length, await stat(page, 'bytes'));
  assert.equal(countRecords(bytes), await stat(page, 'records'));
  const cli = restoreCli();
  if (cli) {
    // The CLI's summary of the file is the page's summary of the image it showed.
    const out = JSON.parse(execFileSync(cli, ['check', '--json', file], { encoding: 'utf8' }));
    assert.equal(out.valid, true, JSON.stringify(out).slice(0, 400));
    assert.equal(out.summary, await page.getAttribute('#summary', 'title'));
  } else {
    t.diagnostic('no target/*/restore binary: the download was checked by re-opening it in the page only');
  }

  // Share: the location carries `#s=`, the clipboard holds the link.
  await page.click('#edit-share');
  const link = await page.inputValue('#share-link');
  assert.match(link, /#s=[A-Za-z0-9_-]+$/);
  assert.equal(page.url(), link);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  t.diagnostic(`share link: ${link.length} characters for a ${bytes.length}-byte image`);
  assert.deepEqual(errors, []);
  await close();

  // The downloaded file opens in a fresh page as a valid image of the same sockets.
  {
    const { page, errors, close } = await open();
    await page.setInputFiles('#file', { name: 'edited.rsimg', mimeType: 'application/octet-stream', buffer: bytes });
    await page.waitForFunction(() => document.querySelector('#summary .file')?.textContent === 'edited.rsimg');
    assert.equal(await page.textContent('#summary .verdict'), 'valid');
    assert.equal(await stat(page, 'sockets'), n0 + 2);
    assert.deepEqual(errors, []);
    await close();
  }

  // The link opens the scenario in a fresh page: same image, editor open, ready to edit on.
  {
    const { page, errors, close } = await open(link);
    await page.waitForSelector('#editor.open');
    assert.equal(await page.textContent('#summary .file'), 'shared.rsimg');
    assert.equal(await stat(page, 'sockets'), n0 + 2);
    assert.equal(await stat(page, 'bytes'), bytes.length);
    assert.equal(await page.locator('#edit-sockets tr[data-name="n1"]').count(), 1);
    assert.equal(await page.inputValue('#share-link'), link);
    await page.waitForSelector('#graph .node');
    assert.equal(await page.locator('#graph .node').count(), n0 + 2);
    await page.screenshot({ path: path.join(OUT, 'shared.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await close();
  }

  // … and in a narrow window nothing overflows sideways.
  {
    const { page, errors, close } = await open(link, { width: 390, height: 844 });
    await page.waitForSelector('#editor.open');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
    await page.screenshot({ path: path.join(OUT, 'editor-narrow.png'), fullPage: true });
    await page.locator('#editor').screenshot({ path: path.join(OUT, 'editor-narrow-panel.png') });
    assert.deepEqual(errors, []);
    await close();
  }
});

test('editor: a damaged share link is reported, the page keeps working', async () => {
  for (const bad of ['#s=AAAA', '#s=not*base64', `#s=${'A'.repeat(5000)}`]) {
    const { page, errors, close } = await open(base + bad);
    await page.waitForSelector('#error');
    assert.match(await page.textContent('#error'), /^share link: /);
    await page.click('.gallery-item[data-name="stream-pair"]');
    await page.waitForSelector('#summary');
    assert.deepEqual(errors, []);
    await close();
  }
});

test('editor: a share link pasted into an open page opens its scenario', async () => {
  const { page, errors, close } = await open();
  await page.click('.gallery-item[data-name="stream-pair"]');
  await page.waitForSelector('#edit-start');
  await page.click('#edit-start');
  await page.fill('#add-name', 'solo');
  await select(page, '#add-type', 'dgram');
  await page.click('#add-socket');
  await page.waitForSelector('#edit-sockets tr[data-name="solo"]');
  await page.click('#edit-share');
  const link = await page.inputValue('#share-link');
  const sockets = await stat(page, 'sockets');
  await close();

  const other = await open();
  await other.page.click('.gallery-item[data-name="dgram-pair"]');
  await other.page.waitForSelector('#summary');
  await other.page.evaluate((h) => { location.hash = h; }, new URL(link).hash);
  await other.page.waitForFunction(() => document.querySelector('#summary .file')?.textContent === 'shared.rsimg');
  assert.equal(await stat(other.page, 'sockets'), sockets);
  assert.equal(await other.page.locator('#edit-sockets tr[data-name="solo"]').count(), 1);
  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await other.close();
});
