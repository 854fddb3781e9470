// Shared set-up of the end-to-end tests: the release build in dist/ (or $DIST) served by a tiny
// static server on 127.0.0.1, and Debian's Chromium (or $CHROMIUM) driven headless by
// playwright-core. Screenshots and other artifacts go to e2e/out/ (gitignored).
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const DIST = path.resolve(process.env.DIST ?? path.join(ROOT, 'dist'));
export const OUT = path.join(import.meta.dirname, 'out');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/**
 * Serve DIST plus `extra` routes (`{ '/name': file }`), and launch the browser. A page route
 * (a path without an extension) that is not a file gets index.html, as a static host with a
 * fallback would; a missing file is 404, so a test that fetches a file the build lacks fails on
 * that (it was answered with index.html, which the page then reported as a parse error).
 * Returns `{ server, browser, base }`.
 */
export async function start(extra = {}) {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `no ${DIST}/index.html: run trunk build --release first`);
  fs.mkdirSync(OUT, { recursive: true });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const routed = extra[url.pathname];
    let p = routed ?? path.join(DIST, decodeURIComponent(url.pathname));
    const inside = routed !== undefined || p === DIST || p.startsWith(DIST + path.sep);
    if (inside && fs.existsSync(p) && fs.statSync(p).isDirectory()) p = path.join(p, 'index.html');
    if (!inside || !fs.existsSync(p)) {
      if (!inside || path.extname(url.pathname) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`not found: ${url.pathname}\n`);
        return;
      }
      p = path.join(DIST, 'index.html');
    }
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

/** A ustar archive of [path, bytes] members (mode 0644, mtime 0). */
export function tar(members) {
  const blocks = [];
  const field = (buf, off, len, s) => buf.write(s, off, len, 'ascii');
  for (const [name, data] of members) {
    const hd = Buffer.alloc(512);
    field(hd, 0, 100, name);
    field(hd, 100, 8, '0000644\0');
    field(hd, 108, 8, '0000000\0');
    field(hd, 116, 8, '0000000\0');
    field(hd, 124, 12, data.length.toString(8).padStart(11, '0') + '\0');
    field(hd, 136, 12, '00000000000\0');
    hd.fill(' ', 148, 156);
    field(hd, 156, 1, '0');
    field(hd, 257, 6, 'ustar\0');
    field(hd, 263, 2, '00');
    let sum = 0;
    for (const b of hd) sum += b;
    field(hd, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(hd, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * A big checkpoint archive (generated once into e2e/out/): `time_criu`'s N unix sockets (N/2
 * socketpairs in one task) in Podman's layout, tar.gz level 1, plus a raw memory image of
 * `pagesMb` MiB of incompressible bytes when `pagesMb` > 0.
 */
export function bigArchive(SOCKETS, PAGES_MB = 0) {
  const file = path.join(OUT, `worker-${SOCKETS}-${PAGES_MB}.tar.gz`);
  if (fs.existsSync(file)) return file;
  const dir = path.join(OUT, `criu-${SOCKETS}`);
  if (!fs.existsSync(path.join(dir, 'files.img'))) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('cargo', ['run', '-q', '--release', '-p', 'resocket-core', '--example', 'time_criu', '--', String(SOCKETS), dir],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const members = [
    ['config.dump', Buffer.from('{"id":"big","name":"big","runtime":"crun"}')],
    ['spec.dump', Buffer.from('{"annotations":{"io.container.manager":"libpod"}}')],
    ...fs.readdirSync(dir).sort().map((n) => [`checkpoint/${n}`, fs.readFileSync(path.join(dir, n))]),
  ];
  if (PAGES_MB > 0) {
    const pages = Buffer.alloc(PAGES_MB << 20);
    let x = 12345;
    for (let i = 0; i < pages.length; i += 4) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; pages.writeUInt32LE(x, i); }
    members.push(['checkpoint/pages-1.img', pages]);
  }
  fs.writeFileSync(file, zlib.gzipSync(tar(members), { level: 1 }));
  return file;
}
