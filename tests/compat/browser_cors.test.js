// A real browser (Debian's Chromium, driven by playwright-core) on one origin uploads straight to Stowage
// through presigned PUT URLs made by the AWS SDK for JavaScript v3, configured as seed 000 does.
// CORS rules come from the b2 CLI (as seed 001 sets them) and from S3 PutBucketCors.
// Run by test_node.py with STOWAGE_URL, STOWAGE_KEY_ID and STOWAGE_KEY set.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { chromium } = require('playwright-core');
const { S3Client, PutObjectCommand, ListObjectsV2Command, DeleteObjectCommand, CreateBucketCommand, PutBucketCorsCommand, DeleteBucketCorsCommand } = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

const url = process.env.STOWAGE_URL;
const BUCKET = 'browser-bucket';
const client = new S3Client({
    endpoint: url,
    region: 'us-west-004',
    credentials: { accessKeyId: process.env.STOWAGE_KEY_ID, secretAccessKey: process.env.STOWAGE_KEY },
    forcePathStyle: true,
});

function b2(...args) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'b2cli-'));
    const env = { ...process.env, B2_ENVIRONMENT: url, B2_APPLICATION_KEY_ID: process.env.STOWAGE_KEY_ID, B2_APPLICATION_KEY: process.env.STOWAGE_KEY,
        B2_ACCOUNT_INFO: path.join(home, 'account_info'), HOME: home, XDG_CONFIG_HOME: home };
    return execFileSync('b2', args, { env, encoding: 'utf8' });
}

// The app's page, served from another origin than the storage server.
const PAGE = `<!doctype html><title>uploader</title><script>
window.upload = (url, size) => new Promise((resolve) => {
  const xhr = new XMLHttpRequest();
  let progress = 0;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress += 1; };
  xhr.onload = () => resolve({ status: xhr.status, progress, etag: xhr.getResponseHeader('ETag') });
  xhr.onerror = () => resolve({ status: 0, progress, error: true });
  xhr.open('PUT', url);
  xhr.setRequestHeader('Content-Type', 'text/plain');
  xhr.send(new Blob([new Uint8Array(size).fill(97)]));
});
</script>`;

async function withPage(fn) {
    const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(PAGE); });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${server.address().port}`;
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
        const page = await browser.newPage();
        const consoleErrors = [];
        page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
        await page.goto(origin + '/');
        await fn(page, origin, consoleErrors);
    } finally {
        await browser.close();
        server.close();
    }
}

async function presignPut(key, size) {
    const command = new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentType: 'text/plain', ContentLength: size });
    return getSignedUrl(client, command, { expiresIn: 900 });
}

test('browser uploads through presigned PUT URLs, gated by bucket CORS', async () => {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await withPage(async (page, origin, consoleErrors) => {
        const size = 3 * 1024 * 1024;
        // No CORS rule: the browser refuses to send (or read) the cross-origin PUT.
        const refused = await page.evaluate(([u, s]) => window.upload(u, s), [await presignPut('refused.txt', size), size]);
        assert.strictEqual(refused.status, 0);

        // A rule set the way seed 001 does it, with the b2 CLI.
        const rules = [{ corsRuleName: 'downloadFromAnyOriginWithUpload', allowedOrigins: [origin], allowedHeaders: ['*'],
            allowedOperations: ['s3_put', 's3_get'], exposeHeaders: ['ETag'], maxAgeSeconds: 3600 }];
        b2('bucket', 'update', '--cors-rules', JSON.stringify(rules), BUCKET, 'allPrivate');
        const accepted = await page.evaluate(([u, s]) => window.upload(u, s), [await presignPut('accepted.txt', size), size]);
        assert.strictEqual(accepted.status, 200);
        assert.ok(accepted.progress > 0, 'upload progress events fired');
        assert.match(accepted.etag, /^"[0-9a-f]{32}"$/);

        // Cleared, refused again; then allowed through S3 PutBucketCors.
        await client.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }));
        const again = await page.evaluate(([u, s]) => window.upload(u, s), [await presignPut('again.txt', 1024), 1024]);
        assert.strictEqual(again.status, 0);
        await client.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: [
            { AllowedOrigins: [origin], AllowedMethods: ['PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 }] } }));
        const viaS3 = await page.evaluate(([u, s]) => window.upload(u, s), [await presignPut('via-s3.txt', 1024), 1024]);
        assert.strictEqual(viaS3.status, 200);
        // The only console errors are the two refused requests' CORS complaints.
        assert.ok(consoleErrors.every((e) => /CORS|Failed to load|ERR_FAILED/.test(e)), consoleErrors.join('\n'));
    });

    // What the seed's server side does next: list and delete.
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepStrictEqual(listed.Contents.map((o) => o.Key), ['accepted.txt', 'via-s3.txt']);
    assert.strictEqual(listed.Contents[0].Size, 3 * 1024 * 1024);
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'accepted.txt' }));
    const after = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepStrictEqual(after.Contents.map((o) => o.Key), ['via-s3.txt']);

    // A plain fetch PUT to a presigned URL (no browser), as the seed's client code does.
    const body = 'plain fetch body';
    const fetched = await fetch(await presignPut('fetched.txt', body.length), { method: 'PUT', body, headers: { 'Content-Type': 'text/plain' } });
    assert.strictEqual(fetched.status, 200);
});
