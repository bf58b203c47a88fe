// The web console at /_console/ in a real browser (Debian's Chromium via playwright-core), end to end:
// sign-in, buckets, drag-and-drop and large uploads, folders, search, grid, details, downloads, share
// links, hide/delete, CORS and lifecycle editors (read back with the b2 CLI), restricted keys, sign-out.
// Screenshots of each main screen go to $STOWAGE_ARTIFACTS (default: tests/compat/artifacts/, untracked).
// Run by test_node.py with STOWAGE_URL, STOWAGE_KEY_ID and STOWAGE_KEY set.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { chromium } = require('playwright-core');
const { noisePng } = require('./fixtures');

const url = process.env.STOWAGE_URL;
const ROOT = { id: process.env.STOWAGE_KEY_ID, key: process.env.STOWAGE_KEY };
const ARTIFACTS = process.env.STOWAGE_ARTIFACTS || path.join(__dirname, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

// A valid 2×2 PNG, so thumbnails really decode (the server's decoder checks what browsers let pass).
const PNG = noisePng(2, 2);
const sha1 = (data) => crypto.createHash('sha1').update(data).digest('hex');

function b2cli(...args) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'b2cli-'));
    const env = { ...process.env, B2_ENVIRONMENT: url, B2_APPLICATION_KEY_ID: ROOT.id, B2_APPLICATION_KEY: ROOT.key,
        B2_ACCOUNT_INFO: path.join(home, 'account_info'), HOME: home, XDG_CONFIG_HOME: home };
    return execFileSync('b2', args, { env, encoding: 'utf8' });
}

/** Seeds data straight through the B2 Native API with the root key (fetch, no browser). */
async function b2api() {
    const auth = await (await fetch(`${url}/b2api/v4/b2_authorize_account`, {
        headers: { Authorization: 'Basic ' + Buffer.from(`${ROOT.id}:${ROOT.key}`).toString('base64') },
    })).json();
    const call = async (op, body) => {
        const r = await fetch(`${url}/b2api/v4/${op}`, { method: 'POST', headers: { Authorization: auth.authorizationToken }, body: JSON.stringify(body) });
        const json = await r.json();
        if (!r.ok) throw new Error(`${op}: ${JSON.stringify(json)}`);
        return json;
    };
    const upload = async (bucketId, name, data, contentType = 'b2/x-auto') => {
        const target = await call('b2_get_upload_url', { bucketId });
        const r = await fetch(target.uploadUrl, { method: 'POST', body: data, headers: {
            Authorization: target.authorizationToken, 'X-Bz-File-Name': name.split('/').map(encodeURIComponent).join('/'),
            'Content-Type': contentType, 'X-Bz-Content-Sha1': sha1(data) } });
        if (!r.ok) throw new Error(`upload ${name}: ${await r.text()}`);
        return r.json();
    };
    return { accountId: auth.accountId, call, upload };
}

async function launch() {
    return chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
}

/** A fresh browser context watching for console errors and uncaught exceptions. */
async function openPage(browser, viewport = { width: 1280, height: 800 }) {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    page.problems = [];
    page.on('console', (m) => { if (m.type() === 'error') page.problems.push(m.text()); });
    page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`));
    page.failures = [];
    page.on('response', (r) => { if (r.status() >= 400) page.failures.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
    return page;
}

/** Clears finished uploads from the panel, if any are still there (they also leave by themselves). */
async function clearFinished(page) {
    const button = page.locator('#uploads >> text=Clear finished');
    if (await button.isVisible()) await button.click({ timeout: 2000 }).catch(() => {});
}

async function signIn(page, id, key) {
    await page.goto(`${url}/_console/`);
    await page.fill('#key-id', id);
    await page.fill('#key', key);
    await page.keyboard.press('Enter');
}

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
const uploadState = (page, name) => page.getAttribute(`.upload-row[data-upload="${name}"]`, 'data-state');

test('the console: sign-in, buckets, uploads, browsing, details, sharing, rules, keys, sign-out', async () => {
    const api = await b2api();
    const other = await api.call('b2_create_bucket', { accountId: api.accountId, bucketName: 'console-other', bucketType: 'allPrivate' });
    await api.upload(other.bucketId, 'not-for-restricted-keys.txt', Buffer.from('other'));

    const browser = await launch();
    try {
        const page = await openPage(browser);

        // Sign-in: a bad key is refused with a message; the good one opens the overview.
        await signIn(page, ROOT.id, 'wrong-secret');
        await page.waitForSelector('form.signin .error:has-text("not accepted")');
        await shot(page, '01-sign-in');
        await signIn(page, ROOT.id, ROOT.key);
        await page.waitForSelector('#total-files');
        const cookies = await page.context().cookies();
        const session = cookies.find((c) => c.name === 'stowage_console');
        assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
        assert.strictEqual(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');

        // Buckets: a bad name gets the server's message in the dialog; a good one is created.
        await page.click('nav >> text=Buckets');
        await page.click('#create-bucket');
        await page.fill('#bucket-name', 'bad_name!');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog .error:not(:empty)');
        assert.match(await page.textContent('dialog .error'), /bucket name|6|characters|invalid/i);
        await page.fill('#bucket-name', 'console-bucket');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('tr[data-bucket="console-bucket"]');
        await shot(page, '02-buckets');
        const bucket = (await api.call('b2_list_buckets', { accountId: api.accountId, bucketName: 'console-bucket' })).buckets[0];

        // Upload several files through the drop zone's input and one by a real drop event.
        await page.click('tr[data-bucket="console-bucket"] a');
        await page.waitForSelector('#dropzone');
        const files = [
            { name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from('quarterly report\n'.repeat(100)) },
            { name: 'readme.md', mimeType: 'text/markdown', buffer: Buffer.from('# read me\n') },
            { name: 'photo.png', mimeType: 'image/png', buffer: PNG },
        ];
        await page.setInputFiles('#file-input', files);
        const dropped = await page.evaluateHandle(() => {
            const dt = new DataTransfer();
            dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
            return dt;
        });
        await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: dropped });
        for (const name of ['report.txt', 'readme.md', 'photo.png', 'dropped.txt']) {
            await page.waitForSelector(`.upload-row[data-upload="${name}"][data-state="done"]`);
            await page.waitForSelector(`tr[data-name="${name}"]`);
        }
        assert.strictEqual(await page.getAttribute('.upload-row[data-upload="report.txt"] progress', 'value'), '100');

        // A whole folder (the folder picker): its files keep their paths under the folder's name.
        const album = fs.mkdtempSync(path.join(os.tmpdir(), 'console-folder-'));
        fs.mkdirSync(path.join(album, 'album', 'sub'), { recursive: true });
        fs.writeFileSync(path.join(album, 'album', 'one.txt'), 'first');
        fs.writeFileSync(path.join(album, 'album', 'sub', 'two.txt'), 'second');
        await page.setInputFiles('#folder-input', path.join(album, 'album'));
        await page.waitForSelector('.upload-row[data-upload="album/sub/two.txt"][data-state="done"]');
        await page.waitForSelector('.upload-row[data-upload="album/one.txt"][data-state="done"]');
        const albumFiles = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'album/' })).files;
        assert.deepStrictEqual(albumFiles.map((f) => f.fileName), ['album/one.txt', 'album/sub/two.txt']);
        for (const f of albumFiles) await api.call('b2_delete_file_version', { fileName: f.fileName, fileId: f.fileId });
        fs.rmSync(album, { recursive: true, force: true });

        // A file larger than the part size (5 MB here) goes up in parallel parts.
        const big = crypto.randomBytes(12 * 1000 * 1000 + 123);
        await page.setInputFiles('#file-input', [{ name: 'big.bin', mimeType: 'application/octet-stream', buffer: big }]);
        await page.waitForSelector('.upload-row[data-upload="big.bin"]');
        await shot(page, '03-uploading');
        await page.waitForSelector('.upload-row[data-upload="big.bin"][data-state="done"]', { timeout: 120000 });
        // Cancel and retry: part uploads are held back so the cancel lands mid-upload.
        const slow = crypto.randomBytes(11 * 1000 * 1000);
        await page.route('**/b2_upload_part/**', async (route) => {
            await new Promise((r) => setTimeout(r, 1500));
            await route.continue().catch(() => {}); // the page may have aborted it meanwhile
        });
        await page.setInputFiles('#file-input', [{ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: slow }]);
        await page.waitForSelector('.upload-row[data-upload="slow.bin"][data-state="uploading"]');
        await page.click('.upload-row[data-upload="slow.bin"] >> text=Cancel');
        await page.waitForSelector('.upload-row[data-upload="slow.bin"][data-state="canceled"]');
        await page.unroute('**/b2_upload_part/**');
        const unfinished = async () => (await api.call('b2_list_unfinished_large_files', { bucketId: bucket.bucketId })).files.length;
        for (let i = 0; i < 50 && (await unfinished()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.strictEqual(await unfinished(), 0, 'a canceled large upload is canceled on the server too');
        await page.click('.upload-row[data-upload="slow.bin"] >> text=Retry');
        await page.waitForSelector('.upload-row[data-upload="slow.bin"][data-state="done"]', { timeout: 120000 });
        const slowBack = await page.request.get(`${url}/_console/api/download/console-bucket/slow.bin`);
        assert.strictEqual(sha1(await slowBack.body()), sha1(slow));
        const slowFile = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'slow.bin' })).files[0];
        await api.call('b2_delete_file_version', { fileName: 'slow.bin', fileId: slowFile.fileId });
        await page.reload();
        await page.waitForSelector('tr[data-name="big.bin"]');

        const listed = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId })).files;
        const bigFile = listed.find((f) => f.fileName === 'big.bin');
        assert.strictEqual(bigFile.contentLength, big.length);
        const parts = await api.call('b2_get_file_info', { fileId: bigFile.fileId });
        assert.strictEqual(parts.contentSha1, 'none', 'uploaded as a large file');
        const bigBack = await page.request.get(`${url}/_console/api/download/console-bucket/big.bin`);
        assert.strictEqual(sha1(await bigBack.body()), sha1(big));
        await shot(page, '04-browse');

        // Folders, paging and search (seeded through the API).
        for (const name of ['docs/a.txt', 'docs/b.txt', 'docs/deep/c.txt']) await api.upload(bucket.bucketId, name, Buffer.from(name));
        await Promise.all(Array.from({ length: 130 }, (_, i) => api.upload(bucket.bucketId, `many/item-${String(i).padStart(3, '0')}.txt`, Buffer.from(String(i)))));
        await page.reload();
        await page.waitForSelector('tr.folder >> text=docs/');
        await page.click('tr.folder a:has-text("docs/")');
        await page.waitForSelector('tr[data-name="docs/a.txt"]');
        assert.ok(await page.isVisible('nav.crumbs >> text=docs'));
        assert.ok(await page.isVisible('tr.folder >> text=deep/'));
        await page.click('nav.crumbs >> text=console-bucket');
        await page.click('tr.folder a:has-text("many/")');
        await page.waitForSelector('tr[data-name="many/item-000.txt"]');
        assert.strictEqual(await page.locator('#listing tbody tr').count(), 100);
        await page.click('#next-page');
        await page.waitForSelector('tr[data-name="many/item-129.txt"]');
        assert.strictEqual(await page.locator('#listing tbody tr').count(), 30);
        await page.click('nav.crumbs >> text=console-bucket');
        await page.waitForSelector('tr[data-name="report.txt"]');
        // Search finds any part of a name, in every folder of the bucket (the server scans, the page shows it).
        await page.fill('#search', 'EPORT');
        await page.waitForSelector('#search-status');
        await page.waitForFunction(() => document.querySelectorAll('#listing tbody tr').length === 1);
        assert.deepStrictEqual(await page.$$eval('#listing tbody tr', (rows) => rows.map((r) => r.dataset.name)), ['report.txt']);
        await page.fill('#search', 'item-12');
        await page.waitForFunction(() => document.querySelectorAll('#listing tbody tr').length === 10);
        const found = await page.$$eval('#listing tbody tr', (rows) => rows.map((r) => r.dataset.name));
        assert.deepStrictEqual(found, Array.from({ length: 10 }, (_, i) => `many/item-12${i}.txt`));
        assert.match(await page.textContent('#search-status'), /whole bucket was searched/);
        await page.fill('#search', '');
        await page.waitForSelector('tr[data-name="photo.png"]');

        // Grid view shows image thumbnails.
        await page.click('#toggle-view');
        await page.waitForSelector('#grid .tile[data-name="photo.png"] img');
        await page.waitForFunction(() => document.querySelector('#grid .tile[data-name="photo.png"] img').naturalWidth === 2);
        await shot(page, '05-grid');
        await page.click('#toggle-view');

        // Details: every field B2's console shows.
        const report = listed.find((f) => f.fileName === 'report.txt');
        await page.click('tr[data-name="report.txt"] td.name button');
        await page.waitForSelector('#detail-sha1');
        const detail = async (id) => (await page.textContent(`#detail-${id}`)).trim();
        assert.strictEqual(await detail('name'), 'report.txt');
        assert.strictEqual(await detail('bucket'), 'console-bucket');
        assert.strictEqual(await detail('friendly-url'), `${url}/file/console-bucket/report.txt`);
        assert.strictEqual(await detail('s3-url'), `${url}/console-bucket/report.txt`);
        assert.ok((await detail('native-url')).includes(encodeURIComponent(report.fileId)));
        assert.strictEqual(await detail('kind'), 'text/plain');
        assert.match(await detail('size'), /\(1700 bytes\)/);
        assert.strictEqual(await detail('fguid'), report.fileId);
        assert.strictEqual(await detail('sha1'), sha1(files[0].buffer));
        await shot(page, '06-details');

        // Download through the button and compare bytes.
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-file')]);
        assert.strictEqual(download.suggestedFilename(), 'report.txt');
        assert.deepStrictEqual(fs.readFileSync(await download.path()), files[0].buffer);
        await page.click('dialog >> text=Close');

        // A share link with an expiry works without a session; the bare URL does not (private bucket).
        await page.click('tr[data-name="report.txt"] >> text=Share');
        await page.selectOption('#share-duration', '3600');
        await page.click('#make-share-link');
        await page.waitForFunction(() => document.body.dataset.lastShareLink);
        const link = await page.inputValue('#share-link');
        assert.strictEqual(link, await page.evaluate(() => document.body.dataset.lastShareLink));
        assert.match(await page.textContent('#share-expiry'), /^Works for anyone until /);
        await page.click('dialog >> text=Close');
        const shared = await fetch(link);
        assert.strictEqual(shared.status, 200);
        assert.deepStrictEqual(Buffer.from(await shared.arrayBuffer()), files[0].buffer);
        assert.strictEqual((await fetch(`${url}/file/console-bucket/report.txt`)).status, 401);

        // Hide, then see it again with versions shown, then delete every version.
        await page.click('tr[data-name="readme.md"] td.name button');
        await page.click('#hide-file');
        await page.waitForSelector('tr[data-name="readme.md"]', { state: 'detached' });
        await page.check('#show-versions');
        await page.waitForSelector('tr.hidden-file[data-name="readme.md"]');
        assert.strictEqual(await page.locator('tr[data-name="readme.md"]').count(), 2, 'the hide marker and the upload');
        await page.click('tr.hidden-file[data-name="readme.md"] td.name button');
        await page.click('#delete-all-versions');
        await page.click('#confirm');
        await page.waitForSelector('tr[data-name="readme.md"]', { state: 'detached' });
        await page.uncheck('#show-versions');
        const versions = (await api.call('b2_list_file_versions', { bucketId: bucket.bucketId, prefix: 'readme.md' })).files;
        assert.deepStrictEqual(versions, []);

        // Delete one version from the table (with confirmation).
        await page.click('tr[data-name="dropped.txt"] >> text=Delete');
        await page.click('#confirm');
        await page.waitForSelector('tr[data-name="dropped.txt"]', { state: 'detached' });

        // Bucket settings, CORS and lifecycle rules edited in the console, read back with the b2 CLI.
        await page.click('nav >> text=Buckets');
        await page.click('tr[data-bucket="console-bucket"] >> text=Settings');
        await page.fill('#settings-info', 'team=storage\nnot a pair');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog .error:has-text("key=value")');
        await page.fill('#settings-info', 'team=storage');
        await page.check('#settings-encryption');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog', { state: 'detached' });
        await page.click('tr[data-bucket="console-bucket"] >> text=CORS rules');
        await page.click('#add-cors-rule');
        await page.fill('#cors-rules fieldset [name=allowedOrigins]', 'https://app.example.com');
        await page.check('#cors-rules fieldset [value=s3_put]');
        await page.check('#cors-rules fieldset [value=b2_download_file_by_name]');
        await page.fill('#cors-rules fieldset [name=allowedHeaders]', '*');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog', { state: 'detached' });
        await page.click('tr[data-bucket="console-bucket"] >> text=Lifecycle');
        await page.click('#add-lifecycle-rule');
        await page.fill('#lifecycle-rules fieldset [name=fileNamePrefix]', 'logs/');
        await page.fill('#lifecycle-rules fieldset [name=daysFromHidingToDeleting]', '7');
        await shot(page, '07-lifecycle');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog', { state: 'detached' });
        const cliView = JSON.parse(b2cli('bucket', 'get', 'console-bucket'));
        assert.deepStrictEqual(cliView.corsRules[0].allowedOrigins, ['https://app.example.com']);
        assert.deepStrictEqual(cliView.corsRules[0].allowedOperations.sort(), ['b2_download_file_by_name', 's3_put']);
        assert.strictEqual(cliView.lifecycleRules[0].fileNamePrefix, 'logs/');
        assert.strictEqual(cliView.lifecycleRules[0].daysFromHidingToDeleting, 7);
        assert.deepStrictEqual(cliView.bucketInfo, { team: 'storage' });
        assert.strictEqual(cliView.defaultServerSideEncryption.mode, 'SSE-B2');

        // Overview figures.
        await page.click('nav >> text=Overview');
        await page.waitForSelector('#total-files');
        const allBuckets = (await api.call('b2_list_buckets', { accountId: api.accountId })).buckets;
        assert.strictEqual(await page.textContent('#bucket-count .figure'), String(allBuckets.length));
        const usage = await page.$$eval('table[aria-label="Usage by bucket"] tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
        assert.deepStrictEqual(usage.find((r) => r[0] === 'console-bucket').slice(2, 4), ['136', '12.0 MB']);
        assert.deepStrictEqual(usage.find((r) => r[0] === 'console-other').slice(2, 4), ['1', '5 B']);
        const total = usage.reduce((sum, r) => sum + (Number(r[2]) || 0), 0);
        assert.strictEqual(Number(await page.textContent('#total-files .figure')), total);
        await shot(page, '08-overview');

        // Event notification rules edited in the console reach a webhook, signed.
        const hooks = [];
        const receiver = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => { hooks.push({ headers: req.headers, body: Buffer.concat(chunks) }); res.end(); });
        });
        await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
        try {
            await page.click('nav >> text=Buckets');
            await page.click('tr[data-bucket="console-bucket"] >> text=Notifications');
            await page.click('#add-notification-rule');
            const ruleBox = '#notification-rules fieldset';
            await page.fill(`${ruleBox} [name=name]`, 'console-hook');
            await page.check(`${ruleBox} [value="b2:ObjectCreated:*"]`);
            await page.fill(`${ruleBox} [name=url]`, `http://127.0.0.1:${receiver.address().port}/hook`);
            await page.click(`${ruleBox} >> text=Generate`);
            await page.fill(`${ruleBox} [name=customHeaders]`, 'X-Console: yes');
            await shot(page, '09-notifications');
            await page.click('dialog button[type=submit]');
            await page.waitForSelector('dialog', { state: 'detached' });
            const [stored] = (await api.call('b2_get_bucket_notification_rules', { bucketId: bucket.bucketId })).eventNotificationRules;
            assert.strictEqual(stored.name, 'console-hook');
            assert.deepStrictEqual(stored.eventTypes, ['b2:ObjectCreated:*']);
            const secret = stored.targetConfiguration.hmacSha256SigningSecret;
            assert.match(secret, /^[A-Za-z0-9]{32}$/);
            const hooked = await api.upload(bucket.bucketId, 'hooked.txt', Buffer.from('notify me'));
            for (let i = 0; i < 100 && !hooks.length; i++) await new Promise((r) => setTimeout(r, 50));
            const [delivery] = hooks;
            const [event] = JSON.parse(delivery.body).events;
            assert.deepStrictEqual([event.eventType, event.objectName, event.objectVersionId], ['b2:ObjectCreated:Upload', 'hooked.txt', hooked.fileId]);
            assert.strictEqual(delivery.headers['x-bz-event-notification-signature'],
                'v1=' + crypto.createHmac('sha256', secret).update(delivery.body).digest('hex'));
            assert.strictEqual(delivery.headers['x-console'], 'yes');
            // An overlapping second rule is refused with the server's reason, in the dialog.
            await page.click('tr[data-bucket="console-bucket"] >> text=Notifications');
            await page.click('#add-notification-rule');
            await page.fill('#notification-rules fieldset:nth-of-type(2) [name=name]', 'overlapping-hook');
            await page.check('#notification-rules fieldset:nth-of-type(2) [value="b2:ObjectCreated:Upload"]');
            await page.fill('#notification-rules fieldset:nth-of-type(2) [name=url]', 'http://127.0.0.1:9/never');
            await page.click('dialog button[type=submit]');
            await page.waitForSelector('dialog .error:not(:empty)');
            assert.match(await page.textContent('dialog .error'), /overlap/);
            await page.click('dialog >> text=Cancel');
        } finally {
            receiver.close();
        }

        // A key limited to one bucket and a prefix; its secret is shown once.
        await page.click('nav >> text=App keys');
        await page.click('#create-key');
        await page.fill('#key-name', 'docs-only');
        await page.selectOption('#key-bucket', { label: 'console-bucket' });
        await page.fill('#key-prefix', 'docs/');
        await page.fill('#key-hours', '1');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('#new-key-secret');
        const restricted = { id: (await page.textContent('#new-key-id')).trim(), key: (await page.textContent('#new-key-secret')).trim() };
        // The dialog restates what the key may do, from the server's answer.
        assert.strictEqual(await page.textContent('#new-key-buckets'), 'console-bucket');
        assert.strictEqual(await page.textContent('#new-key-prefix'), 'docs/');
        assert.match(await page.textContent('#new-key-capabilities'), /deleteFiles/);
        assert.notStrictEqual(await page.textContent('#new-key-expires'), 'never');
        await shot(page, '10-key-created');
        await page.click('dialog >> text=Done');
        await page.waitForSelector('tr[data-key="docs-only"]');
        const keyRow = await page.$$eval('tr[data-key="docs-only"] td', (cells) => cells.map((c) => c.textContent));
        assert.deepStrictEqual([keyRow[2], keyRow[3]], ['console-bucket', 'docs/']);
        assert.notStrictEqual(keyRow[5], 'Never');
        const created = (await api.call('b2_list_keys', { accountId: api.accountId })).keys.find((k) => k.keyName === 'docs-only');
        assert.ok(created.expirationTimestamp > Date.now() + 3500 * 1000 && created.expirationTimestamp <= Date.now() + 3600 * 1000);
        assert.deepStrictEqual(created.capabilities.sort(), ['deleteFiles', 'listBuckets', 'listFiles', 'readBucketEncryption', 'readBucketRetentions',
            'readFileLegalHolds', 'readFileRetentions', 'readFiles', 'shareFiles', 'writeFileLegalHolds', 'writeFileRetentions', 'writeFiles']);
        await shot(page, '11-keys');

        // A stored HTML file cannot act as the console: opened in the signed-in browser, by the console's
        // download route or by a B2 download URL, it runs sandboxed, away from the session.
        const evil = `<!doctype html><title>loaded</title><script>
            fetch('/_console/api/b2/b2_create_key', { method: 'POST', credentials: 'include',
                headers: { 'X-Stowage-Console': '1', 'Content-Type': 'application/json' },
                body: JSON.stringify({ accountId: '${api.accountId}', keyName: 'stolen', capabilities: ['listBuckets'] }) })
            .then((r) => { document.title = 'status ' + r.status; }, () => { document.title = 'blocked'; });</script>`;
        await api.upload(bucket.bucketId, 'evil.html', Buffer.from(evil), 'text/html');
        const grant = await api.call('b2_get_download_authorization', { bucketId: bucket.bucketId, fileNamePrefix: 'evil', validDurationInSeconds: 600 });
        for (const target of [`${url}/_console/api/download/console-bucket/evil.html`,
            `${url}/file/console-bucket/evil.html?Authorization=${encodeURIComponent(grant.authorizationToken)}`]) {
            const tab = await page.context().newPage();
            await tab.goto(target);
            await tab.waitForFunction(() => document.title !== 'loaded');
            assert.strictEqual(await tab.title(), 'blocked', target);
            await tab.close();
        }
        const keysNow = (await api.call('b2_list_keys', { accountId: api.accountId })).keys.map((k) => k.keyName);
        assert.ok(!keysNow.includes('stolen'), keysNow.join(', '));
        await api.call('b2_hide_file', { bucketId: bucket.bucketId, fileName: 'evil.html' });

        // Sign out: the session ends on the server too.
        const sessionCookie = `stowage_console=${session.value}`;
        await page.click('#sign-out');
        await page.waitForSelector('form.signin');
        const stale = await fetch(`${url}/_console/api/b2/b2_list_buckets`, { method: 'POST',
            headers: { Cookie: sessionCookie, 'X-Stowage-Console': '1' }, body: JSON.stringify({ accountId: api.accountId }) });
        assert.strictEqual(stale.status, 401);

        // The restricted key sees only its bucket and prefix.
        await signIn(page, restricted.id, restricted.key);
        await page.waitForSelector('#total-files');
        const visible = await page.$$eval('table[aria-label="Usage by bucket"] tbody tr td.name', (cells) => cells.map((c) => c.textContent));
        assert.deepStrictEqual(visible, ['console-bucket']);
        await page.click('table[aria-label="Usage by bucket"] a');
        await page.waitForSelector('tr[data-name="docs/a.txt"]');
        const names = await page.$$eval('#listing tbody tr', (rows) => rows.map((r) => r.dataset.name || r.textContent.trim()));
        assert.ok(names.every((n) => n.includes('docs/')), names.join(', '));
        await shot(page, '12-restricted');
        await page.click('nav >> text=App keys');
        await page.waitForSelector('text=may not list application keys');
        await page.click('#sign-out');
        await page.waitForSelector('form.signin');

        // The browser logged only the refusals the test provoked: the bad key (401), the bad bucket name and the
        // overlapping notification rule (400).
        assert.deepStrictEqual(page.problems.map((p) => (p.match(/status of (\d+)/) || [p])[1] || p), ['401', '400', '400'], page.failures.join('\n'));

        // Phone width: nothing overflows sideways.
        const phone = await openPage(browser, { width: 390, height: 844 });
        await signIn(phone, ROOT.id, ROOT.key);
        await phone.waitForSelector('#total-files');
        await phone.goto(`${url}/_console/#/browse/console-bucket/`);
        await phone.waitForSelector('tr[data-name="report.txt"]');
        await shot(phone, '13-phone');
        assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
        assert.deepStrictEqual(phone.problems, []);

        // Without SubtleCrypto (plain http from another machine) uploads hash with the console's own SHA-1.
        const plain = await openPage(browser);
        await plain.addInitScript(() => Object.defineProperty(globalThis.crypto, 'subtle', { get: () => undefined }));
        await signIn(plain, ROOT.id, ROOT.key);
        await plain.waitForSelector('#total-files');
        const vectors = await plain.evaluate(async () => {
            const { Sha1 } = await import('/_console/assets/sha1.js');
            const text = (s) => new Sha1().update(new TextEncoder().encode(s)).hex();
            const split = new Sha1();
            for (let i = 0; i < 1000; i++) split.update(new TextEncoder().encode('a'.repeat(1000)));
            return [text(''), text('abc'), text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), split.hex(), typeof crypto.subtle];
        });
        assert.deepStrictEqual(vectors, ['da39a3ee5e6b4b0d3255bfef95601890afd80709', 'a9993e364706816aba3e25717850c26c9cd0d89d',
            '84983e441c3bd26ebaae4aa1f95129e5e54670f1', '34aa973cd4c4daa4f61eeb2bdbad27316534016f', 'undefined']);
        await plain.goto(`${url}/_console/#/browse/console-bucket/`);
        await plain.waitForSelector('#dropzone');
        const plainSmall = crypto.randomBytes(100_003);
        const plainLarge = crypto.randomBytes(7 * 1000 * 1000 + 5);
        await plain.setInputFiles('#file-input', [{ name: 'plain-small.bin', mimeType: 'application/octet-stream', buffer: plainSmall },
            { name: 'plain-large.bin', mimeType: 'application/octet-stream', buffer: plainLarge }]);
        await plain.waitForSelector('.upload-row[data-upload="plain-small.bin"][data-state="done"]');
        await plain.waitForSelector('.upload-row[data-upload="plain-large.bin"][data-state="done"]', { timeout: 120000 });
        const plainFiles = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'plain-' })).files;
        assert.strictEqual(plainFiles.find((f) => f.fileName === 'plain-small.bin').contentSha1, sha1(plainSmall));
        const plainBack = await plain.request.get(`${url}/_console/api/download/console-bucket/plain-large.bin`);
        assert.strictEqual(sha1(await plainBack.body()), sha1(plainLarge));
        assert.deepStrictEqual(plain.problems, []);
    } finally {
        await browser.close();
    }
});

/** The entries of a zip file, by name, unpacked with Python's zipfile (the archive is checked, not trusted). */
function unzip(file) {
    const script = 'import base64, json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n' +
        'print(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))';
    const entries = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 64 << 20 }));
    return Object.fromEntries(Object.entries(entries).map(([n, b]) => [n, Buffer.from(b, 'base64')]));
}

/** Every form control in the page's accessibility tree (Chromium's own, over CDP) has a name. */
async function unnamedControls(page) {
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    await cdp.detach();
    const controls = ['textbox', 'searchbox', 'combobox', 'checkbox', 'spinbutton', 'listbox', 'radio', 'slider', 'button', 'link'];
    return nodes.filter((n) => !n.ignored && controls.includes(n.role?.value) && !(n.name?.value || '').trim())
        .map((n) => `${n.role.value} #${n.backendDOMNodeId}`);
}

/** Visible text whose colour against its background falls below WCAG AA (4.5:1, 3:1 for large text);
 * controls the key may not use are exempt, as WCAG exempts inactive components. */
function lowContrastText(page) {
    return page.evaluate(() => {
        const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
        const luminance = ([r, g, b]) => {
            const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const background = (el) => {
            for (let e = el; e; e = e.parentElement) {
                const c = rgba(getComputedStyle(e).backgroundColor);
                if (c.length === 4 ? c[3] > 0.5 : c.length === 3) return c.slice(0, 3);
            }
            return [255, 255, 255];
        };
        const bad = [];
        for (const el of document.querySelectorAll('body *')) {
            if (!/\S/.test([...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(''))) continue;
            if (!el.getClientRects().length || el.closest('[aria-disabled=true], :disabled, option')) continue;
            const style = getComputedStyle(el);
            if (style.visibility === 'hidden' || Number(style.opacity) < 0.6) continue;
            const [fg, bg] = [luminance(rgba(style.color)), luminance(background(el))];
            const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
            const size = parseFloat(style.fontSize);
            const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
            if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
        }
        return bad;
    });
}

test('the console, second pass: what a key may see and do, labels and contrast, phone layout, share links', async () => {
    const api = await b2api();
    const bucket = await api.call('b2_create_bucket', { accountId: api.accountId, bucketName: 'album-bucket', bucketType: 'allPrivate' });
    const album = { 'album/a.jpg': 4000, 'album/b.txt': 300, 'album/sub/c.txt': 20 };
    for (const [name, size] of Object.entries(album)) await api.upload(bucket.bucketId, name, crypto.randomBytes(size));
    await api.upload(bucket.bucketId, 'private/x.bin', crypto.randomBytes(5_000_000));
    await api.upload(bucket.bucketId, 'a-very-long-file-name-that-must-wrap-only-where-it-has-to-on-a-phone-screen.txt', Buffer.from('w'));
    const readOnly = await api.call('b2_create_key', { accountId: api.accountId, keyName: 'album-reader', bucketIds: [bucket.bucketId],
        namePrefix: 'album/', capabilities: ['listBuckets', 'listFiles', 'readFiles', 'shareFiles'] });

    const browser = await launch();
    try {
        const page = await openPage(browser);
        // A read-only key limited to album/: figures cover only what it may list, matching the API's listing.
        await signIn(page, readOnly.applicationKeyId, readOnly.applicationKey);
        await page.waitForSelector('#total-files');
        assert.strictEqual(Number(await page.textContent('#total-files .figure')), Object.keys(album).length);
        // ... and says so: the figures cover the key's prefix, not the bucket.
        assert.strictEqual(await page.textContent('#total-files .label'), 'Files in album/');
        assert.strictEqual(await page.textContent('#total-bytes .label'), 'Storage used in album/');
        const listed = await fetch(`${url}/b2api/v4/b2_authorize_account`, { headers: { Authorization: 'Basic ' +
            Buffer.from(`${readOnly.applicationKeyId}:${readOnly.applicationKey}`).toString('base64') } }).then((r) => r.json())
            .then((auth) => fetch(`${url}/b2api/v4/b2_list_file_names`, { method: 'POST', headers: { Authorization: auth.authorizationToken },
                body: JSON.stringify({ bucketId: bucket.bucketId, prefix: 'album/', maxFileCount: 1000 }) }).then((r) => r.json()));
        const listedBytes = listed.files.reduce((sum, f) => sum + f.contentLength, 0);
        assert.strictEqual(listed.files.length, Object.keys(album).length);
        assert.strictEqual(await page.textContent('#total-bytes .figure'), await page.evaluate((n) => import('/_console/assets/ui.js').then((ui) => ui.formatBytes(n)), listedBytes));
        assert.deepStrictEqual(await unnamedControls(page), []);
        assert.deepStrictEqual(await lowContrastText(page), []);
        await shot(page, '20-restricted-overview');

        // The buckets list shows the same figures, and offers no action the key may not take: each is
        // disabled with the missing capability on hover, and pressing it does nothing.
        await page.click('nav >> text=Buckets');
        await page.waitForSelector('tr[data-bucket="album-bucket"]');
        assert.strictEqual(await page.textContent('tr[data-bucket="album-bucket"] td.files'), String(Object.keys(album).length));
        assert.strictEqual(await page.getAttribute('#create-bucket', 'aria-disabled'), 'true');
        assert.match(await page.getAttribute('#create-bucket', 'title'), /writeBuckets/);
        const bucketActions = await page.$$eval('tr[data-bucket="album-bucket"] td.actions button',
            (buttons) => buttons.map((b) => [b.textContent, b.getAttribute('aria-disabled'), b.title]));
        assert.deepStrictEqual(bucketActions.map(([text, disabled]) => [text, disabled]),
            [['Settings', 'true'], ['CORS rules', 'true'], ['Lifecycle', 'true'], ['Notifications', 'true'], ['Delete', 'true']]);
        assert.match(bucketActions[4][2], /deleteBuckets/);
        await page.click('tr[data-bucket="album-bucket"] >> text=Delete', { force: true });
        assert.strictEqual(await page.$('dialog'), null);
        assert.deepStrictEqual(await unnamedControls(page), []);
        assert.deepStrictEqual(await lowContrastText(page), []);

        // Files: downloading and sharing are offered, deleting is not (no raw error toast either).
        await page.click('tr[data-bucket="album-bucket"] td.name a');
        await page.waitForSelector('tr[data-name="album/b.txt"]');
        const fileDelete = 'tr[data-name="album/b.txt"] td.actions button:has-text("Delete")';
        assert.strictEqual(await page.getAttribute(fileDelete, 'aria-disabled'), 'true');
        assert.match(await page.getAttribute(fileDelete, 'title'), /deleteFiles/);
        await page.click(fileDelete, { force: true });
        assert.strictEqual(await page.$('.toast'), null);
        assert.strictEqual(await page.getAttribute('tr[data-name="album/b.txt"] td.actions button:has-text("Share")', 'aria-disabled'), null);
        await page.click('tr[data-name="album/b.txt"] td.name button');
        await page.waitForSelector('#delete-all-versions');
        assert.deepStrictEqual(await page.$$eval('#hide-file, #rename-file, #copy-file, #edit-metadata, #delete-all-versions',
            (b) => b.map((x) => x.getAttribute('aria-disabled'))), ['true', 'true', 'true', 'true', 'true']);
        assert.strictEqual(await page.$('#delete-version'), null, 'one version is deleted only where versions are shown');
        assert.deepStrictEqual(await unnamedControls(page), []);
        await page.click('dialog button:text-is("Close")');
        assert.deepStrictEqual(await lowContrastText(page), []);
        await shot(page, '21-restricted-files');
        await page.click('#sign-out');
        await page.waitForSelector('form.signin');
        assert.deepStrictEqual(await unnamedControls(page), []);
        assert.deepStrictEqual(page.problems, []);

        // Every rule editor's fields are named by their labels in the accessibility tree. The overview charts
        // each bucket's stored bytes by day (recorded here by the test hook the hourly job also runs).
        await fetch(`${url}/_test/usage/record`, { method: 'POST' });
        await signIn(page, ROOT.id, ROOT.key);
        await page.waitForSelector('#total-files');
        const chart = await page.getAttribute('tr[data-bucket="album-bucket"] td.usage svg[role=img]', 'aria-label');
        assert.match(chart, new RegExp(`\\(${Object.keys(album).length + 2} files\\)`));
        assert.deepStrictEqual(await lowContrastText(page), []);
        await page.click('nav >> text=Buckets');
        for (const [action, add] of [['CORS rules', '#add-cors-rule'], ['Lifecycle', '#add-lifecycle-rule'], ['Notifications', '#add-notification-rule']]) {
            await page.click(`tr[data-bucket="album-bucket"] >> text=${action}`);
            await page.click(add);
            await page.click(add);
            assert.deepStrictEqual(await unnamedControls(page), [], action);
            const labelled = await page.$$eval('dialog input:not([type=checkbox]), dialog textarea', (els) => els.every((e) => e.labels.length === 1));
            assert.ok(labelled, action);
            await page.click('dialog button:text-is("Cancel")');
        }
        await page.click('tr[data-bucket="album-bucket"] >> text=Settings');
        assert.ok(await page.isHidden('#settings-retention'), 'retention fields show only with object lock on');
        await page.check('#settings-lock');
        assert.ok(await page.isVisible('#settings-retention'));
        assert.deepStrictEqual(await unnamedControls(page), []);
        // Making a bucket public asks first; declining keeps it private.
        await page.selectOption('#settings-type', 'allPublic');
        await page.uncheck('#settings-lock');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog[aria-label="Make the bucket public?"]');
        await page.click('dialog[aria-label="Make the bucket public?"] button:text-is("Cancel")');
        await page.click('dialog button:text-is("Cancel")');
        const stillPrivate = await api.call('b2_list_buckets', { accountId: api.accountId, bucketName: 'album-bucket' });
        assert.strictEqual(stillPrivate.buckets[0].bucketType, 'allPrivate');
        // Presets fill in common rules to review and save: B2 clients read them back.
        await page.click('tr[data-bucket="album-bucket"] >> text=Lifecycle');
        await page.click('#lifecycle-preset-1');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog', { state: 'detached' });
        await page.click('tr[data-bucket="album-bucket"] >> text=CORS rules');
        await page.click('#cors-preset-2');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('dialog', { state: 'detached' });
        const preset = (await api.call('b2_list_buckets', { accountId: api.accountId, bucketName: 'album-bucket' })).buckets[0];
        assert.deepStrictEqual(preset.lifecycleRules, [{ fileNamePrefix: '', daysFromHidingToDeleting: 1, daysFromUploadingToHiding: null,
            daysFromStartingToCancelingUnfinishedLargeFiles: null }]);
        assert.deepStrictEqual([preset.corsRules[0].allowedOrigins, preset.corsRules[0].allowedOperations.sort()],
            [['*'], ['b2_download_file_by_id', 'b2_download_file_by_name', 's3_get', 's3_head']]);
        await api.call('b2_update_bucket', { accountId: api.accountId, bucketId: bucket.bucketId, lifecycleRules: [], corsRules: [] });
        await page.click('nav >> text=App keys');
        await page.waitForSelector('tr[data-key="album-reader"]');
        assert.deepStrictEqual(await unnamedControls(page), []);
        assert.deepStrictEqual(await lowContrastText(page), []);
        await page.click('#create-key');
        assert.deepStrictEqual(await unnamedControls(page), []);
        await page.click('dialog button:text-is("Cancel")');

        // Folders come first; columns sort the page (announced by aria-sort); the type is shown and the exact
        // upload time, with its zone, on hover.
        await page.goto(`${url}/_console/#/browse/album-bucket/album/`);
        await page.waitForSelector('tr[data-name="album/b.txt"]');
        const order = () => page.$$eval('#listing tbody tr', (rows) => rows.map((r) => r.dataset.name));
        assert.deepStrictEqual(await order(), ['album/sub/', 'album/a.jpg', 'album/b.txt']);
        await page.click('th button:has-text("Size")');
        await page.waitForSelector('th[aria-sort="ascending"] button:has-text("Size")');
        assert.deepStrictEqual(await order(), ['album/sub/', 'album/b.txt', 'album/a.jpg']);
        await page.click('th button:has-text("Size")');
        await page.waitForSelector('th[aria-sort="descending"] button:has-text("Size")');
        assert.deepStrictEqual(await order(), ['album/sub/', 'album/a.jpg', 'album/b.txt']);
        assert.match(await page.textContent('tr[data-name="album/a.jpg"] td.type'), /JPG/);
        assert.match(await page.getAttribute('tr[data-name="album/a.jpg"] td.date', 'title'), /\d{1,2}:\d{2}:\d{2}.*(UTC|GMT|[A-Z]{3,4})/);
        assert.deepStrictEqual(await unnamedControls(page), []);

        // The grid shows small thumbnails made by the server, with each file's size and date; the details
        // panel previews images and the start of texts.
        const photo = noisePng(1200, 800);
        const stored = await api.upload(bucket.bucketId, 'album/photo.png', photo, 'image/png');
        await page.goto(`${url}/_console/#/buckets`);
        await page.goto(`${url}/_console/#/browse/album-bucket/album/`);
        await page.waitForSelector('tr[data-name="album/photo.png"]');
        await page.click('#toggle-view');
        await page.waitForFunction(() => document.querySelector('#grid .tile[data-name="album/photo.png"] img')?.naturalWidth > 0);
        assert.deepStrictEqual(await page.$eval('#grid .tile[data-name="album/photo.png"] img', (i) => [i.naturalWidth, i.naturalHeight]), [256, 171]);
        const thumbnail = await page.request.get(`${url}/_console/api/thumbnail/${encodeURIComponent(stored.fileId)}`);
        assert.strictEqual(thumbnail.headers()['content-type'], 'image/jpeg');
        const thumbBytes = (await thumbnail.body()).length;
        assert.ok(thumbBytes * 50 < photo.length, `thumbnail ${thumbBytes} bytes, original ${photo.length}`);
        console.log(`# thumbnail ${thumbBytes} bytes for a ${photo.length}-byte 1200×800 PNG (${(photo.length / thumbBytes).toFixed(0)}× smaller)`);
        assert.match(await page.textContent('#grid .tile[data-name="album/photo.png"] .meta'), /MB ·/);
        await shot(page, '25-grid-thumbnails');
        await page.click('#grid .tile[data-name="album/photo.png"] .caption button');
        await page.waitForFunction(() => document.querySelector('#preview img')?.naturalWidth === 1200);
        await page.click('dialog button:text-is("Close")');
        await page.click('#toggle-view');
        await api.upload(bucket.bucketId, 'album/notes.txt', Buffer.from('first line of the notes\nsecond line'), 'text/plain');
        await page.goto(`${url}/_console/#/buckets`);
        await page.goto(`${url}/_console/#/browse/album-bucket/album/`);
        await page.click('tr[data-name="album/notes.txt"] td.name button');
        await page.waitForSelector('#preview:has-text("second line")');
        assert.deepStrictEqual(await unnamedControls(page), []);
        await page.click('dialog button:text-is("Close")');
        await api.call('b2_delete_file_version', { fileName: 'album/photo.png', fileId: stored.fileId });
        const notes = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'album/notes' })).files[0];
        await api.call('b2_delete_file_version', { fileName: notes.fileName, fileId: notes.fileId });

        // The upload list stays in view while moving between pages, progress on one line.
        await page.goto(`${url}/_console/#/browse/album-bucket/`);
        await page.waitForSelector('#dropzone');
        const moving = crypto.randomBytes(6 * 1000 * 1000);
        await page.setInputFiles('#file-input', [{ name: 'moving.bin', mimeType: 'application/octet-stream', buffer: moving }]);
        await page.click('nav >> text=Overview');
        await page.waitForSelector('#total-files');
        await page.waitForSelector('.upload-row[data-upload="moving.bin"][data-state="done"]', { timeout: 120000 });
        assert.match(await page.textContent('.upload-row[data-upload="moving.bin"] .state'), /^Done · 6\.00 MB$/);
        await page.click('nav >> text=Buckets');
        assert.ok(await page.isVisible('.upload-row[data-upload="moving.bin"]'));
        await clearFinished(page);
        const movingFile = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'moving.bin' })).files[0];
        assert.strictEqual(movingFile.contentLength, moving.length);
        await api.call('b2_delete_file_version', { fileName: movingFile.fileName, fileId: movingFile.fileId });

        // A large upload pauses and resumes: the parts already sent stay on the server and are not sent again.
        const paused = crypto.randomBytes(11 * 1000 * 1000);
        const partRequests = [];
        await page.route('**/b2_upload_part/**', async (route) => {
            const part = route.request().headers()['x-bz-part-number'];
            partRequests.push(part);
            if (part !== '1') await new Promise((r) => setTimeout(r, 1500));
            await route.continue().catch(() => {});
        });
        await page.goto(`${url}/_console/#/browse/album-bucket/`);
        await page.waitForSelector('#dropzone');
        await page.setInputFiles('#file-input', [{ name: 'paused.bin', mimeType: 'application/octet-stream', buffer: paused }]);
        const partsOnServer = async () => {
            const open = (await api.call('b2_list_unfinished_large_files', { bucketId: bucket.bucketId })).files.find((f) => f.fileName === 'paused.bin');
            return open ? (await api.call('b2_list_parts', { fileId: open.fileId })).parts.map((p) => p.partNumber) : null;
        };
        for (let i = 0; i < 100 && !((await partsOnServer()) || []).includes(1); i++) await new Promise((r) => setTimeout(r, 50));
        await page.click('.upload-row[data-upload="paused.bin"] button:text-is("Pause")');
        await page.waitForSelector('.upload-row[data-upload="paused.bin"][data-state="paused"]');
        assert.deepStrictEqual(await partsOnServer(), [1], 'the sent part waits on the server');
        // What the panel counts as sent is what the server keeps: the finished part, not parts cut short.
        const kept = await page.evaluate((n) => import('/_console/assets/ui.js').then((ui) => `Paused · ${ui.formatBytes(n)} of ${ui.formatBytes(11e6)}`), 5e6);
        assert.strictEqual(await page.textContent('.upload-row[data-upload="paused.bin"] .state'), kept);
        await page.unroute('**/b2_upload_part/**');
        await page.route('**/b2_upload_part/**', async (route) => { partRequests.push(route.request().headers()['x-bz-part-number']); await route.continue(); });
        await page.click('.upload-row[data-upload="paused.bin"] button:text-is("Resume")');
        await page.waitForSelector('.upload-row[data-upload="paused.bin"][data-state="done"]', { timeout: 120000 });
        await page.unroute('**/b2_upload_part/**');
        assert.strictEqual(partRequests.filter((p) => p === '1').length, 1, `part requests: ${partRequests.join(',')}`);
        assert.strictEqual(sha1(await (await page.request.get(`${url}/_console/api/download/album-bucket/paused.bin`)).body()), sha1(paused));
        const pausedFile = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'paused.bin' })).files[0];
        // The whole file's SHA-1 is recorded as the b2 CLI and b2sdk record it, so any B2 client can check a download.
        assert.strictEqual(pausedFile.fileInfo.large_file_sha1, sha1(paused));
        await api.call('b2_delete_file_version', { fileName: pausedFile.fileName, fileId: pausedFile.fileId });
        await clearFinished(page);

        // Uploads can go through S3 multipart uploads presigned by the server with the session's key.
        const viaS3 = crypto.randomBytes(11 * 1000 * 1000 + 7);
        const s3Requests = [];
        page.on('request', (r) => { if (r.url().includes('uploadId=') || r.url().includes('?uploads')) s3Requests.push(`${r.method()} ${new URL(r.url()).search.split('&')[0]}`); });
        await page.goto(`${url}/_console/#/browse/album-bucket/`);
        await page.selectOption('#upload-via', 's3');
        await page.setInputFiles('#file-input', [{ name: 'via-s3.bin', mimeType: 'application/octet-stream', buffer: viaS3 }]);
        await page.waitForSelector('.upload-row[data-upload="via-s3.bin"][data-state="done"]', { timeout: 120000 });
        assert.strictEqual(sha1(await (await page.request.get(`${url}/_console/api/download/album-bucket/via-s3.bin`)).body()), sha1(viaS3));
        assert.ok(s3Requests.some((r) => r.startsWith('PUT ?partNumber')) && s3Requests.some((r) => r.startsWith('POST ?uploads')), s3Requests.join(', '));
        // Only multipart calls are presigned.
        const refused = await page.evaluate(() => fetch('/_console/api/s3/presign', { method: 'POST', headers: { 'X-Stowage-Console': '1' },
            body: JSON.stringify({ method: 'DELETE', bucket: 'album-bucket', key: 'album/a.jpg', query: {} }) }).then((r) => r.status));
        assert.strictEqual(refused, 400);
        await page.selectOption('#upload-via', 'b2');
        const viaS3File = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'via-s3.bin' })).files[0];
        assert.strictEqual(viaS3File.fileInfo.large_file_sha1, sha1(viaS3), 'the S3 path records the whole file\'s SHA-1 too');
        await api.call('b2_delete_file_version', { fileName: viaS3File.fileName, fileId: viaS3File.fileId });
        await clearFinished(page);

        // A folder downloads as a zip streamed by the server: unpacked, it holds every file under it, byte for byte.
        const contents = {};
        for (const name of Object.keys(album)) contents[name] = await page.request.get(`${url}/_console/api/download/album-bucket/${name}`).then((r) => r.body());
        await page.goto(`${url}/_console/#/browse/album-bucket/`);
        await page.waitForSelector('tr[data-name="album/"]');
        const [folderZip] = await Promise.all([page.waitForEvent('download'), page.click('tr[data-name="album/"] td.actions a:has-text("Download")')]);
        assert.strictEqual(folderZip.suggestedFilename(), 'album.zip');
        const unpacked = unzip(await folderZip.path());
        assert.deepStrictEqual(Object.keys(unpacked).sort(), Object.keys(album).sort());
        for (const [name, data] of Object.entries(unpacked)) assert.ok(data.equals(contents[name]), name);

        // A new empty folder (kept as B2's console keeps it), then a selection of a file and a folder:
        // downloaded together as one zip, deleted together after a confirmation that counts them.
        await page.click('#new-folder');
        await page.fill('#folder-name', 'empty-one');
        await page.click('dialog button[type=submit]');
        await page.waitForSelector('tr[data-name="empty-one/"]');
        assert.ok((await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'empty-one/' })).files.some((f) => f.fileName === 'empty-one/.bzEmpty'));
        await page.goto(`${url}/_console/#/browse/album-bucket/album/`);
        await page.waitForSelector('tr[data-name="album/b.txt"]');
        await page.check('tr[data-name="album/b.txt"] input.select');
        await page.check('tr[data-name="album/sub/"] input.select');
        assert.strictEqual(await page.textContent('#selected-count'), '2 selected');
        const [selectionZip] = await Promise.all([page.waitForEvent('download'), page.click('#download-selected')]);
        assert.deepStrictEqual(Object.keys(unzip(await selectionZip.path())).sort(), ['b.txt', 'sub/c.txt']);
        // Arrow keys move between rows.
        await page.focus('tr[data-name="album/a.jpg"] td.name button');
        await page.keyboard.press('ArrowDown');
        assert.strictEqual(await page.evaluate(() => document.activeElement.closest('tr').dataset.name), 'album/b.txt');
        await page.click('#delete-selected');
        assert.ok(await page.isHidden('#selection') === false);
        assert.match(await page.textContent('dialog p'), /Delete 2 files \(2 versions, 320 B\) in 1 folder\? Every version goes;/);
        await page.click('#confirm');
        await page.waitForSelector('tr[data-name="album/b.txt"]', { state: 'detached' });
        assert.ok(await page.isHidden('#selection'), 'the selection bar goes with the selection');
        const left = (await api.call('b2_list_file_versions', { bucketId: bucket.bucketId, prefix: 'album/' })).files.map((f) => f.fileName);
        assert.deepStrictEqual(left, ['album/a.jpg']);
        assert.deepStrictEqual(await unnamedControls(page), []);
        await shot(page, '24-selection-done');

        // Phone width: the header keeps to its content on a short page, no table clips its actions, and
        // file names wrap only where they must, aligned as folder names are.
        const phone = await openPage(browser, { width: 390, height: 844 });
        await signIn(phone, ROOT.id, ROOT.key);
        await phone.waitForSelector('#total-files');
        const headerHeight = await phone.evaluate(() => document.querySelector('nav.side').getBoundingClientRect().height);
        assert.ok(headerHeight < 130, `header ${headerHeight}px`);
        for (const view of ['#/buckets', '#/browse/album-bucket/', '#/keys']) {
            await phone.goto(`${url}/_console/${view}`);
            await phone.waitForSelector('table tbody tr');
            const clipped = await phone.$$eval('.table-wrap', (wraps) => wraps.filter((w) => w.scrollWidth > w.clientWidth + 1).length);
            assert.strictEqual(clipped, 0, view);
            assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), view);
        }
        await phone.goto(`${url}/_console/#/browse/album-bucket/`);
        const long = 'tr[data-name^="a-very-long-file-name"] td.name button';
        await phone.waitForSelector(long);
        assert.strictEqual(await phone.$eval(long, (b) => getComputedStyle(b).textAlign), 'left');
        // Wrapped only where the width forces it: no more lines than its one-line width needs, plus one for
        // breaking at hyphens rather than mid-word.
        const [lines, needed] = await phone.$eval(long, (b) => {
            const style = getComputedStyle(b);
            const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.45;
            const probe = Object.assign(document.createElement('span'), { textContent: b.textContent });
            probe.style.cssText = `font: ${style.font}; white-space: nowrap; position: absolute; visibility: hidden`;
            document.body.append(probe);
            const oneLine = probe.getBoundingClientRect().width;
            probe.remove();
            const available = b.parentElement.clientWidth - parseFloat(getComputedStyle(b.parentElement).paddingLeft) * 2;
            return [Math.round(b.getBoundingClientRect().height / lineHeight), Math.ceil(oneLine / available)];
        });
        assert.ok(lines <= needed + 1, `${lines} lines where ${needed} would do`);
        await shot(phone, '22-phone-browse');
        assert.deepStrictEqual(phone.problems, []);

        // Share links name the address the browser used when the server has no public URL.
        const port = new URL(url).port;
        const local = await openPage(browser);
        await local.goto(`http://localhost:${port}/_console/`);
        await local.fill('#key-id', ROOT.id);
        await local.fill('#key', ROOT.key);
        await local.keyboard.press('Enter');
        await local.waitForSelector('#total-files');
        await local.goto(`http://localhost:${port}/_console/#/browse/album-bucket/album/`);
        await local.click('tr[data-name="album/a.jpg"] >> text=Share');
        await local.click('#make-share-link');
        await local.waitForFunction(() => document.getElementById('share-link').value);
        assert.ok((await local.inputValue('#share-link')).startsWith(`http://localhost:${port}/file/album-bucket/album/a.jpg?Authorization=`));
        assert.match(await local.textContent('#share-expiry'), /until/);
        assert.deepStrictEqual(await unnamedControls(local), []);
        await shot(local, '23-share-dialog');
    } finally {
        await browser.close();
    }
});

/** The third pass's tests each start from a bucket of their own: two versions of report.txt (a confidential
 * first draft, then the final one) and of notes.txt, and files in folders; signed in with the root key. */
async function thirdPass(bucketName, run) {
    const api = await b2api();
    const bucket = await api.call('b2_create_bucket', { accountId: api.accountId, bucketName, bucketType: 'allPrivate' });
    await api.upload(bucket.bucketId, 'report.txt', Buffer.from('confidential first draft'));
    await api.upload(bucket.bucketId, 'report.txt', Buffer.from('the final report'));
    await api.upload(bucket.bucketId, 'notes.txt', Buffer.from('old notes'));
    await api.upload(bucket.bucketId, 'notes.txt', Buffer.from('new notes'));
    const spread = { 'docs/plan-a.txt': 'plan a', 'misc/plan-b.txt': 'plan b', 'misc/deep/plan-c.txt': 'plan c' };
    for (const [name, body] of Object.entries(spread)) await api.upload(bucket.bucketId, name, Buffer.from(body));
    const versionsOf = async (name) => (await api.call('b2_list_file_versions', { bucketId: bucket.bucketId, prefix: name })).files
        .filter((f) => f.fileName === name);
    const browser = await launch();
    try {
        const page = await openPage(browser);
        await signIn(page, ROOT.id, ROOT.key);
        await page.waitForSelector('#total-files');
        await page.goto(`${url}/_console/#/browse/${bucketName}/`);
        await page.waitForSelector('tr[data-name="report.txt"]');
        await run({ api, bucket, page, spread, versionsOf });
        assert.deepStrictEqual(page.problems.filter((p) => !p.includes('400')), []);
    } finally {
        await browser.close();
    }
}

test('the console, third pass: Delete in the normal view never publishes an older version', () => thirdPass('third-deletes', async ({ api, bucket, page, versionsOf }) => {
    // Delete in the normal view makes the name go away: every version, counted with its bytes.
    await page.check('tr[data-name="report.txt"] input.select');
    await page.click('#delete-selected');
    assert.match(await page.textContent('dialog p'), /^Delete 1 file \(2 versions, 40 B\)\? Every version goes;/);
    await page.click('#confirm');
    await page.waitForSelector('tr[data-name="report.txt"]', { state: 'detached' });
    assert.deepStrictEqual(await versionsOf('report.txt'), [], 'no version is left to be published');
    assert.strictEqual((await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'report.txt' })).files.length, 0);
    // A row's own Delete does the same, and offers to hide instead: the name goes, its versions stay.
    await page.click('tr[data-name="notes.txt"] >> text=Delete');
    assert.match(await page.textContent('dialog p'), /^Delete 1 file \(2 versions, 18 B\)\?/);
    await page.click('#hide-instead');
    await page.waitForSelector('tr[data-name="notes.txt"]', { state: 'detached' });
    assert.deepStrictEqual((await versionsOf('notes.txt')).map((f) => f.action), ['hide', 'upload', 'upload']);
    // Where versions are shown, one version can still be deleted on its own.
    await page.check('#show-versions');
    await page.waitForSelector('tr.hidden-file[data-name="notes.txt"]');
    const oldest = (await versionsOf('notes.txt'))[2];
    await page.locator('tr[data-name="notes.txt"]').nth(2).locator('button:text-is("Delete")').click();
    assert.match(await page.textContent('dialog p'), /this version/);
    await page.click('#confirm');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-name="notes.txt"]').length === 2);
    assert.ok(!(await versionsOf('notes.txt')).some((f) => f.fileId === oldest.fileId));
    await page.uncheck('#show-versions');
}));

test('the console, third pass: any selection downloads as a zip; search results link to their folders; an Upload button', () => thirdPass('third-zips', async ({ page, spread, versionsOf }) => {
    // A zip of search results found in other folders than the one searched from downloads, with paths
    // from the folder they share; a zip the server refuses leaves the console in place with a message.
    await page.goto(`${url}/_console/#/browse/third-zips/docs/`);
    await page.waitForSelector('tr[data-name="docs/plan-a.txt"]');
    await page.fill('#search', 'plan-');
    await page.waitForFunction(() => document.querySelectorAll('#listing tbody tr').length === 3);
    await page.check('tr[data-name="misc/plan-b.txt"] input.select');
    await page.check('tr[data-name="misc/deep/plan-c.txt"] input.select');
    await page.check('tr[data-name="docs/plan-a.txt"] input.select');
    const [zip] = await Promise.all([page.waitForEvent('download'), page.click('#download-selected')]);
    const unpacked = unzip(await zip.path());
    assert.deepStrictEqual(Object.keys(unpacked).sort(), ['docs/plan-a.txt', 'misc/deep/plan-c.txt', 'misc/plan-b.txt']);
    for (const [name, body] of Object.entries(spread)) assert.strictEqual(unpacked[name].toString(), body);
    await page.route('**/_console/api/zip/**', (route) => route.fulfill({ status: 400, contentType: 'application/json',
        body: JSON.stringify({ status: 400, code: 'bad_request', message: 'refused on purpose' }) }));
    await page.click('#download-selected');
    await page.waitForSelector('.toast:has-text("refused on purpose")');
    assert.ok(await page.isVisible('#listing'), 'the console stays');
    await page.unroute('**/_console/api/zip/**');
    // Each search result links to the folder that holds it.
    assert.strictEqual(await page.textContent('tr[data-name="misc/deep/plan-c.txt"] a.folder-link'), 'in misc/deep/');
    await page.click('tr[data-name="misc/deep/plan-c.txt"] a.folder-link');
    await page.waitForSelector('nav.crumbs >> text=deep');
    await page.waitForSelector('tr[data-name="misc/deep/plan-c.txt"]');
    assert.strictEqual(await page.inputValue('#search'), '');

    // An Upload button beside the drop zone; a finished upload leaves the panel by itself.
    await page.evaluate(() => import('/_console/assets/session.js').then((m) => { m.state.uploads.doneLingerMs = 1500; }));
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#upload-files')]);
    await chooser.setFiles([{ name: 'picked.txt', mimeType: 'text/plain', buffer: Buffer.from('picked with the button') }]);
    await page.waitForSelector('.upload-row[data-upload="misc/deep/picked.txt"][data-state="done"]');
    await page.waitForSelector('.upload-row[data-upload="misc/deep/picked.txt"]', { state: 'detached', timeout: 10000 });
    await page.waitForSelector('tr[data-name="misc/deep/picked.txt"]');
    assert.strictEqual((await versionsOf('misc/deep/picked.txt')).length, 1);
}));

test('the console, third pass: rename, move, copy, make current, metadata, retention and legal hold', () => thirdPass('third-ops', async ({ api, bucket, page, versionsOf }) => {
    // Rename, move (a folder too, into another bucket), copy, make an older version current, new
    // metadata, retention and legal hold: each a server-side copy or call, read back by the b2 CLI (b2sdk).
    const other = await api.call('b2_create_bucket', { accountId: api.accountId, bucketName: 'third-other', bucketType: 'allPrivate',
        fileLockEnabled: true });
    await page.goto(`${url}/_console/#/browse/third-ops/misc/deep/`);
    await page.waitForSelector('tr[data-name="misc/deep/plan-c.txt"]');
    await page.click('tr[data-name="misc/deep/plan-c.txt"] td.name button');
    await page.click('#rename-file');
    await page.fill('#transfer-destination', 'misc/deep/plan-c-renamed.txt');
    await page.click('#transfer-go');
    await page.waitForSelector('tr[data-name="misc/deep/plan-c-renamed.txt"]');
    await page.waitForSelector('tr[data-name="misc/deep/plan-c.txt"]', { state: 'detached' });
    assert.deepStrictEqual(await versionsOf('misc/deep/plan-c.txt'), [], 'a rename leaves no version under the old name');
    const renamed = JSON.parse(b2cli('file', 'info', `b2://third-ops/misc/deep/plan-c-renamed.txt`));
    assert.strictEqual(renamed.contentSha1, sha1('plan c'));

    await page.goto(`${url}/_console/#/browse/third-ops/misc/`);
    await page.waitForSelector('tr[data-name="misc/deep/"]');
    await page.check('tr[data-name="misc/deep/"] input.select');
    await page.check('tr[data-name="misc/plan-b.txt"] input.select');
    await page.click('#move-selected');
    await page.selectOption('#transfer-bucket', { label: 'third-other' });
    assert.strictEqual(await page.inputValue('#transfer-destination'), 'misc/');
    await page.fill('#transfer-destination', 'moved');
    await page.click('#transfer-go');
    await page.waitForSelector('dialog', { state: 'detached' });
    await page.waitForSelector('tr[data-name="misc/plan-b.txt"]', { state: 'detached' });
    const movedNames = b2cli('ls', '--recursive', 'b2://third-other/').trim().split('\n').sort();
    assert.deepStrictEqual(movedNames, ['moved/deep/plan-c-renamed.txt', 'moved/plan-b.txt']);
    assert.deepStrictEqual((await api.call('b2_list_file_versions', { bucketId: bucket.bucketId, prefix: 'misc/' })).files, []);

    await page.goto(`${url}/_console/#/browse/third-ops/docs/`);
    await page.waitForSelector('tr[data-name="docs/plan-a.txt"]');
    await page.click('tr[data-name="docs/plan-a.txt"] td.name button');
    await page.click('#copy-file');
    await page.fill('#transfer-destination', 'docs/plan-a-copy.txt');
    await page.click('#transfer-go');
    await page.waitForSelector('tr[data-name="docs/plan-a-copy.txt"]');
    assert.strictEqual((await versionsOf('docs/plan-a.txt')).length, 1, 'a copy leaves its source as it was');

    // S3 tags, which the B2 API has no call for: set in the console, read back by boto3.
    await page.click('tr[data-name="docs/plan-a.txt"] td.name button');
    await page.click('#edit-tags-button');
    await page.fill('#edit-tags', 'team=ops\nstage=final & <checked>');
    await page.click('#save-tags');
    await page.waitForSelector('.toast:has-text("Tags saved")');
    await page.click('dialog button:text-is("Close")');
    const tags = JSON.parse(execFileSync(path.join(__dirname, '.venv/bin/python'), ['-c', `
import boto3, botocore, json, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name="us-east-1",
                  config=botocore.config.Config(s3={"addressing_style": "path"}))
print(json.dumps({t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket="third-ops", Key="docs/plan-a.txt")["TagSet"]}))
`, url, ROOT.id, ROOT.key], { encoding: 'utf8' }));
    assert.deepStrictEqual(tags, { team: 'ops', stage: 'final & <checked>' });

    // A copy above what one b2_copy_file holds goes as a large file of copied parts (small parts here).
    const big = crypto.randomBytes(12 * 1000 * 1000);
    await api.upload(bucket.bucketId, 'docs/big.bin', big);
    const bigSource = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'docs/big.bin' })).files[0];
    await page.evaluate(([source, bucketId]) => import('/_console/assets/fileops.js')
        .then((ops) => ops.copyInParts(source, bucketId, 'docs/big-copy.bin', { partSize: 5_000_000 })), [bigSource, bucket.bucketId]);
    const bigCopy = JSON.parse(b2cli('file', 'info', 'b2://third-ops/docs/big-copy.bin'));
    assert.strictEqual(bigCopy.fileInfo.large_file_sha1, sha1(big));
    assert.strictEqual(sha1(await (await page.request.get(`${url}/_console/api/download/third-ops/docs/big-copy.bin`)).body()), sha1(big));

    // New metadata: a new version with the content type and file info given.
    await page.click('tr[data-name="docs/plan-a-copy.txt"] td.name button');
    await page.click('#edit-metadata');
    await page.fill('#edit-content-type', 'text/markdown');
    await page.fill('#edit-file-info', 'owner=ops\nreviewed=yes');
    await page.click('#save-metadata');
    await page.waitForSelector('dialog', { state: 'detached' });
    const edited = JSON.parse(b2cli('file', 'info', 'b2://third-ops/docs/plan-a-copy.txt'));
    assert.strictEqual(edited.contentType, 'text/markdown');
    assert.deepStrictEqual(edited.fileInfo, { owner: 'ops', reviewed: 'yes' });

    // Make an older version current: the first one's bytes come back on top.
    await page.check('#show-versions');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-name="docs/plan-a-copy.txt"]').length === 2);
    await page.locator('tr[data-name="docs/plan-a-copy.txt"]').nth(1).locator('td.name button').click();
    await page.click('#make-current');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-name="docs/plan-a-copy.txt"]').length === 3);
    const current = JSON.parse(b2cli('file', 'info', 'b2://third-ops/docs/plan-a-copy.txt'));
    assert.strictEqual(current.contentType, 'text/plain', 'the older version, with its own metadata, is current');
    await page.uncheck('#show-versions');

    // Retention and legal hold of one file, in a bucket with file lock.
    await page.goto(`${url}/_console/#/browse/third-other/moved/`);
    await page.waitForSelector('tr[data-name="moved/plan-b.txt"]');
    await page.click('tr[data-name="moved/plan-b.txt"] td.name button');
    await page.click('#edit-lock');
    await page.selectOption('#retention-mode', 'governance');
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    await page.fill('#retention-until', until);
    await page.check('#legal-hold');
    await page.click('#save-lock');
    await page.waitForSelector('dialog', { state: 'detached' });
    const locked = JSON.parse(b2cli('file', 'info', 'b2://third-other/moved/plan-b.txt'));
    assert.strictEqual(locked.fileRetention.mode, 'governance');
    assert.strictEqual(new Date(locked.fileRetention.retainUntilTimestamp).toISOString().slice(0, 10), until);
    assert.strictEqual(locked.legalHold, 'on');
}));

test('the console, third pass: a paused upload counts what the server keeps', () => thirdPass('third-pause', async ({ api, bucket, page }) => {
    // A slow link: two 5 MB parts go up at once, neither finished when the person pauses.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1_000_000 });
    const body = crypto.randomBytes(10 * 1000 * 1000);
    await page.setInputFiles('#file-input', [{ name: 'slow-paused.bin', mimeType: 'application/octet-stream', buffer: body }]);
    const row = '.upload-row[data-upload="slow-paused.bin"]';
    // Wait until the panel shows bytes on their way, then pause.
    await page.waitForFunction((sel) => /^[1-9][\d.]* (kB|KB|MB)/.test(document.querySelector(`${sel} .state`)?.textContent || ''), row, { timeout: 30000 });
    await page.click(`${row} button:text-is("Pause")`);
    await page.waitForSelector(`${row}[data-state="paused"]`);
    const open = (await api.call('b2_list_unfinished_large_files', { bucketId: bucket.bucketId })).files.find((f) => f.fileName === 'slow-paused.bin');
    const keptOnServer = open ? (await api.call('b2_list_parts', { fileId: open.fileId })).parts.reduce((sum, p) => sum + p.contentLength, 0) : 0;
    const expected = await page.evaluate(([kept, total]) => import('/_console/assets/ui.js').then((ui) => `Paused · ${ui.formatBytes(kept)} of ${ui.formatBytes(total)}`),
        [keptOnServer, body.length]);
    assert.strictEqual(await page.textContent(`${row} .state`), expected, 'the panel counts what the server keeps');
    // Resumed on a fast link, it finishes whole, with the whole file's SHA-1 recorded.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.click(`${row} button:text-is("Resume")`);
    await page.waitForSelector(`${row}[data-state="done"]`, { timeout: 120000 });
    const stored = (await api.call('b2_list_file_names', { bucketId: bucket.bucketId, prefix: 'slow-paused.bin' })).files[0];
    assert.strictEqual(stored.fileInfo.large_file_sha1, sha1(body));
    assert.strictEqual(sha1(await (await page.request.get(`${url}/_console/api/download/third-pause/slow-paused.bin`)).body()), sha1(body));
}));

test('the console, third pass: the usage chart from day one, and at phone width', () => thirdPass('third-usage', async ({ page }) => {
    // No hourly record yet: the chart still shows today's figure, labelled as the first day, with its scale.
    await page.click('nav >> text=Overview');
    await page.waitForSelector('tr[data-bucket="third-usage"] td.usage svg[role=img]');
    const label = await page.getAttribute('tr[data-bucket="third-usage"] td.usage svg[role=img]', 'aria-label');
    assert.match(label, /\(7 files\) on .*, the first day recorded$/);
    assert.match(await page.textContent('tr[data-bucket="third-usage"] td.usage .days'), /\(first day\)$/);
    assert.strictEqual(await page.textContent('tr[data-bucket="third-usage"] td.usage .scale'),
        await page.evaluate((n) => import('/_console/assets/ui.js').then((ui) => ui.formatBytes(n)), 24 + 16 + 9 + 9 + 18));
    // At phone width: the chart stays, badges keep to one line, check boxes are 24 px targets.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.isVisible('tr[data-bucket="third-usage"] td.usage svg'), 'the chart is shown at phone width');
    for (const badge of await page.$$('.badge')) {
        // One line of text: less than two lines' height (plus the badge's padding).
        const oneLine = await badge.evaluate((b) => b.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(b).fontSize) + 4);
        assert.ok(oneLine, `badge "${await badge.textContent()}" breaks`);
    }
    await page.goto(`${url}/_console/#/browse/third-usage/`);
    await page.waitForSelector('tr[data-name="report.txt"] input.select');
    const boxes = await page.$$eval('input[type=checkbox]', (els) => els.filter((e) => e.offsetParent).map((e) => e.getBoundingClientRect()).map((r) => Math.min(r.width, r.height)));
    assert.ok(boxes.length > 0 && boxes.every((side) => side >= 24), `check boxes: ${boxes.join(', ')}`);
}));
