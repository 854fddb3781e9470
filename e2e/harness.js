// Shared set-up of the end-to-end tests: the release build in dist/ (or $DIST) served by a tiny
// static server on 127.0.0.1, and Debian's Chromium (or $CHROMIUM) driven headless by
// playwright-core. Screenshots and other artifacts go to e2e/out/ (gitignored).
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DIST = path.resolve(process.env.DIST ?? path.join(ROOT, 'dist'));
export const OUT = path.join(import.meta.dirname, 'out');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/**
 * Serve DIST (unknown paths get index.html, as a static host with a fallback would) plus `extra`
 * routes (`{ '/name': file }`), and launch the browser. Returns `{ server, browser, base }`.
 */
export async function start(extra = {}) {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `no ${DIST}/index.html: run trunk build --release first`);
  fs.mkdirSync(OUT, { recursive: true });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let p = extra[url.pathname] ?? path.join(DIST, decodeURIComponent(url.pathname));
    if (!(p.startsWith(DIST) || Object.values(extra).includes(p))) p = path.join(DIST, 'index.html');
    if (!fs.existsSync(p) || fs.statSync(p).isDirectory()) p = path.join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[path.extname(p)] ?? 'application/octet-stream' });
    fs.createReadStream(p).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return { server, browser, base };
}

/** Count the records of an image the way the framing does ({u32 type; u32 len} headers). */
export function countRecords(buf) {
  let n = 0;
  for (let at = 0; at + 8 <= buf.length; n++) {
    const len = buf.readUInt32LE(at + 4);
    if (len < 8 || at + len > buf.length) break;
    at += len;
  }
  return n;
}

/** Close what `start` opened. */
export async function stop(h) {
  await h?.browser?.close();
  h?.server?.close();
}
