// Console browsing benchmark: a folder of 10 000 files opened in the web console in Debian's Chromium; prints
// the time from navigation to the first rows painted, and the size of the grid's thumbnail of a 1200×800
// photo against the original. Starts its own server on a temporary directory.
//
//   cargo build --release && (cd tests/compat && node bench_console_browse.js)   # STOWAGE_BENCH_FILES=10000
'use strict';
const { chromium } = require('playwright-core');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const FILES = Number(process.env.STOWAGE_BENCH_FILES || 10000);
const BIN = process.env.STOWAGE_BIN || path.join(__dirname, '../../target/release/stowage');
const ROUNDS = 5;

async function freePort() {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    });
}

/** A PNG of random pixels, the size a photo's detail gives one. */
function noisePng(width, height) {
    const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
    const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
    const chunk = (type, data) => {
        const body = Buffer.concat([Buffer.from(type), data]);
        const out = Buffer.alloc(12 + data.length);
        out.writeUInt32BE(data.length, 0); body.copy(out, 4); out.writeUInt32BE(crc(body), 8 + data.length);
        return out;
    };
    const header = Buffer.alloc(13);
    header.writeUInt32BE(width, 0); header.writeUInt32BE(height, 4); header[8] = 8; header[9] = 2;
    const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), crypto.randomBytes(width * 3)])));
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header),
        chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-browse-bench-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawn(BIN, ['serve', '--data', path.join(dir, 'data'), '--listen', `127.0.0.1:${port}`],
        { env: { ...process.env, STOWAGE_ROOT_KEY_ID: 'benchid', STOWAGE_ROOT_KEY: 'benchsecret' }, stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
        try { if ((await fetch(`${url}/_health`)).ok) break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
        const auth = await (await fetch(`${url}/b2api/v4/b2_authorize_account`,
            { headers: { Authorization: 'Basic ' + Buffer.from('benchid:benchsecret').toString('base64') } })).json();
        const call = async (op, body) => (await fetch(`${url}/b2api/v4/${op}`, { method: 'POST', headers: { Authorization: auth.authorizationToken }, body: JSON.stringify(body) })).json();
        const bucket = await call('b2_create_bucket', { accountId: auth.accountId, bucketName: 'browse-bench', bucketType: 'allPrivate' });
        const upload = async (target, name, data, type) => {
            const r = await fetch(target.uploadUrl, { method: 'POST', body: data, headers: { Authorization: target.authorizationToken,
                'X-Bz-File-Name': encodeURIComponent(name).replace(/%2F/g, '/'), 'Content-Type': type,
                'X-Bz-Content-Sha1': crypto.createHash('sha1').update(data).digest('hex') } });
            if (!r.ok) throw new Error(`upload ${name}: ${r.status}`);
            return r.json();
        };
        const seeding = Date.now();
        const workers = Array.from({ length: 16 }, async (_, w) => {
            const target = await call('b2_get_upload_url', { bucketId: bucket.bucketId });
            for (let i = w; i < FILES; i += 16) await upload(target, `big-folder/file-${String(i).padStart(5, '0')}.txt`, Buffer.from(`file ${i}`), 'text/plain');
        });
        await Promise.all(workers);
        console.log(`seeded ${FILES} files in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
        const photo = noisePng(1200, 800);
        const photoTarget = await call('b2_get_upload_url', { bucketId: bucket.bucketId });
        const stored = await upload(photoTarget, 'photos/photo.png', photo, 'image/png');

        const page = await browser.newPage();
        await page.goto(`${url}/_console/`);
        await page.fill('#key-id', 'benchid');
        await page.fill('#key', 'benchsecret');
        await page.keyboard.press('Enter');
        await page.waitForSelector('#total-files');
        const times = [];
        for (let round = 0; round < ROUNDS; round++) {
            await page.goto(`${url}/_console/#/overview`);
            await page.waitForSelector('#total-files');
            const started = Date.now();
            await page.goto(`${url}/_console/#/browse/browse-bench/big-folder/`);
            await page.waitForSelector('#listing tbody tr, #grid .tile');
            await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
            times.push(Date.now() - started);
        }
        times.sort((a, b) => a - b);
        console.log(`first rows of a ${FILES}-file folder painted: median ${times[Math.floor(ROUNDS / 2)]} ms (of ${ROUNDS}: ${times.join(', ')} ms)`);

        // What the grid loads for a photo: the server's thumbnail where there is one, else the original.
        const thumb = await page.request.get(`${url}/_console/api/thumbnail/${encodeURIComponent(stored.fileId)}`);
        const gridBytes = thumb.ok() ? (await thumb.body()).length : photo.length;
        console.log(`grid image of a ${photo.length}-byte 1200×800 photo: ${gridBytes} bytes (${(photo.length / gridBytes).toFixed(0)}× smaller)` +
            (thumb.ok() ? '' : ' — no thumbnail endpoint: the original'));
    } finally {
        await browser.close();
        server.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    }
})().catch((e) => { console.error(e); process.exit(1); });
