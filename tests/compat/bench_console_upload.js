// Console upload benchmark: a large file dropped into the web console in Debian's Chromium goes straight to
// storage in parallel parts; prints the upload rate and the browser's peak memory, to show the tab never
// holds the file. Starts its own server (release build) on a temporary directory.
//
//   cargo build --release && (cd tests/compat && node bench_console_upload.js)   # STOWAGE_BENCH_MB=1024
'use strict';
const { chromium } = require('playwright-core');
const { execSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { startServer } = require('./fixtures');
const os = require('node:os');
const path = require('node:path');

const MB = Number(process.env.STOWAGE_BENCH_MB || 1024);
const BIN = process.env.STOWAGE_BIN || path.join(__dirname, '../../target/release/stowage');

/** Resident memory (MB) of a process and all its descendants. */
function treeRssMb(pid) {
    let total = 0;
    const visit = (p) => {
        try {
            const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
            total += Number((status.match(/VmRSS:\s+(\d+)/) || [0, 0])[1]) / 1024;
            const children = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
            children.forEach(visit);
        } catch { /* the process ended */ }
    };
    visit(pid);
    return total;
}

(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-console-bench-'));
    const file = path.join(dir, 'big.bin');
    const chunk = crypto.randomBytes(1 << 20);
    const out = fs.openSync(file, 'w');
    for (let i = 0; i < MB; i++) fs.writeSync(out, chunk);
    fs.closeSync(out);

    const { url, server } = await startServer(BIN, path.join(dir, 'data'), 'benchid', 'benchsecret');
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
        const page = await browser.newPage();
        await page.goto(`${url}/_console/`);
        await page.fill('#key-id', 'benchid');
        await page.fill('#key', 'benchsecret');
        await page.keyboard.press('Enter');
        await page.waitForSelector('#total-files');
        await page.click('nav >> text=Buckets');
        await page.click('#create-bucket');
        await page.fill('#bucket-name', 'bench-bucket');
        await page.click('dialog button[type=submit]');
        await page.click('tr[data-bucket="bench-bucket"] a');
        await page.waitForSelector('#dropzone');
        const chromiumPid = Number(execSync(`pgrep -o -f -- "--remote-debugging-pipe"`).toString().trim());
        const before = treeRssMb(chromiumPid);
        let peak = before;
        const sampler = setInterval(() => { peak = Math.max(peak, treeRssMb(chromiumPid)); }, 200);
        const started = Date.now();
        await page.setInputFiles('#file-input', file);
        await page.waitForSelector('.upload-row[data-upload="big.bin"][data-state="done"]', { timeout: 30 * 60 * 1000 });
        const seconds = (Date.now() - started) / 1000;
        clearInterval(sampler);
        const bytes = MB * 1024 * 1024;
        console.log(`console upload of ${MB} MiB through Chromium: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s (${seconds.toFixed(1)} s)`);
        console.log(`Chromium memory (all processes): ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak ` +
            `(+${(peak - before).toFixed(0)} MB for a ${MB} MiB file)`);
    } finally {
        await browser.close();
        server.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    }
})().catch((e) => { console.error(e); process.exit(1); });
