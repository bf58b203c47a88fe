// Console browsing benchmark: a folder of 10 000 files opened in the web console in Debian's Chromium; prints
// the time from navigation to the first rows painted, and the size of the grid's thumbnail of a 1200×800
// photo against the original. Starts its own server on a temporary directory.
//
//   cargo build --release && (cd tests/compat && node bench_console_browse.js)   # STOWAGE_BENCH_FILES=10000
'use strict';
const { chromium } = require('playwright-core');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { noisePng, startServer } = require('./fixtures');

const FILES = Number(process.env.STOWAGE_BENCH_FILES || 10000);
const BIN = process.env.STOWAGE_BIN || path.join(__dirname, '../../target/release/stowage');
const ROUNDS = Number(process.env.STOWAGE_BENCH_ROUNDS || 15);

(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-browse-bench-'));
    const { url, server } = await startServer(BIN, path.join(dir, 'data'), 'benchid', 'benchsecret');
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
