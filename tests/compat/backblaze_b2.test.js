// backblaze-b2 (npm), every operation it has, against Stowage through the v2 API.
// Run by test_node.py with STOWAGE_URL, STOWAGE_KEY_ID and STOWAGE_KEY set.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const conf = require('backblaze-b2/conf');
const B2 = require('backblaze-b2');

const url = process.env.STOWAGE_URL;
conf.API_AUTHORIZE__URL = `${url}/b2api/v2/b2_authorize_account`;
const sha1 = (data) => crypto.createHash('sha1').update(data).digest('hex');

async function authorized(applicationKeyId, applicationKey) {
    const b2 = new B2({ applicationKeyId, applicationKey, retry: { retries: 0 } });
    await b2.authorize();
    return b2;
}

test('backblaze-b2 drives every operation', async () => {
    const b2 = await authorized(process.env.STOWAGE_KEY_ID, process.env.STOWAGE_KEY);

    const created = (await b2.createBucket({ bucketName: 'node-bucket', bucketType: 'allPrivate' })).data;
    const bucketId = created.bucketId;
    assert.strictEqual(created.bucketName, 'node-bucket');
    const got = (await b2.getBucket({ bucketName: 'node-bucket' })).data;
    assert.strictEqual(got.buckets[0].bucketId, bucketId);
    const missing = (await b2.getBucket({ bucketName: 'absent-bucket' })).data;
    assert.deepStrictEqual(missing.buckets, []);
    assert.ok((await b2.listBuckets()).data.buckets.some((b) => b.bucketId === bucketId));
    const updated = (await b2.updateBucket({ bucketId, bucketType: 'allPublic' })).data;
    assert.strictEqual(updated.bucketType, 'allPublic');

    // Simple uploads with info headers.
    const upload = (await b2.getUploadUrl({ bucketId })).data;
    const body = Buffer.from('hello from node');
    const file = (await b2.uploadFile({
        uploadUrl: upload.uploadUrl, uploadAuthToken: upload.authorizationToken,
        fileName: 'docs/hello world.txt', data: body, info: { author: 'node' },
    })).data;
    assert.strictEqual(file.contentSha1, sha1(body));
    assert.strictEqual(file.fileInfo.author, 'node');
    await b2.uploadFile({ uploadUrl: upload.uploadUrl, uploadAuthToken: upload.authorizationToken, fileName: 'docs/second.txt', data: Buffer.from('2') });

    const names = (await b2.listFileNames({ bucketId, startFileName: '', maxFileCount: 100, prefix: '', delimiter: '/' })).data;
    assert.deepStrictEqual(names.files.map((f) => f.fileName), ['docs/']);
    const inside = (await b2.listFileNames({ bucketId, startFileName: '', maxFileCount: 1, prefix: 'docs/', delimiter: null })).data;
    assert.strictEqual(inside.files.length, 1);
    assert.strictEqual(inside.nextFileName, 'docs/second.txt');
    const info = (await b2.getFileInfo({ fileId: file.fileId })).data;
    assert.strictEqual(info.fileName, 'docs/hello world.txt');

    const byName = await b2.downloadFileByName({ bucketName: 'node-bucket', fileName: 'docs/hello world.txt', responseType: 'arraybuffer' });
    assert.strictEqual(Buffer.from(byName.data).toString(), 'hello from node');
    const byId = await b2.downloadFileById({ fileId: file.fileId, responseType: 'arraybuffer' });
    assert.strictEqual(Buffer.from(byId.data).toString(), 'hello from node');
    const auth = (await b2.getDownloadAuthorization({ bucketId, fileNamePrefix: 'docs/', validDurationInSeconds: 60 })).data;
    assert.strictEqual(auth.fileNamePrefix, 'docs/');

    // Large file: start, part URLs, two parts, list parts, finish; and a canceled one.
    const part1 = crypto.randomBytes(5 * 1000 * 1000);
    const part2 = crypto.randomBytes(1234);
    const large = (await b2.startLargeFile({ bucketId, fileName: 'large.bin' })).data;
    for (const [n, data] of [[1, part1], [2, part2]]) {
        const partUrl = (await b2.getUploadPartUrl({ fileId: large.fileId })).data;
        const part = (await b2.uploadPart({ partNumber: n, uploadUrl: partUrl.uploadUrl, uploadAuthToken: partUrl.authorizationToken, data })).data;
        assert.strictEqual(part.contentSha1, sha1(data));
    }
    const parts = (await b2.listParts({ fileId: large.fileId, startPartNumber: 0, maxPartCount: 10 })).data;
    assert.deepStrictEqual(parts.parts.map((p) => p.partNumber), [1, 2]);
    const finished = (await b2.finishLargeFile({ fileId: large.fileId, partSha1Array: [sha1(part1), sha1(part2)] })).data;
    assert.strictEqual(finished.contentLength, part1.length + part2.length);
    const whole = await b2.downloadFileByName({ bucketName: 'node-bucket', fileName: 'large.bin', responseType: 'arraybuffer' });
    assert.strictEqual(sha1(Buffer.from(whole.data)), sha1(Buffer.concat([part1, part2])));
    const doomed = (await b2.startLargeFile({ bucketId, fileName: 'doomed.bin' })).data;
    const canceled = (await b2.cancelLargeFile({ fileId: doomed.fileId })).data;
    assert.strictEqual(canceled.fileName, 'doomed.bin');

    // Hide, versions, delete.
    const hidden = (await b2.hideFile({ bucketId, fileName: 'docs/second.txt' })).data;
    assert.strictEqual(hidden.action, 'hide');
    const versions = (await b2.listFileVersions({ bucketId, startFileName: '', maxFileCount: 100 })).data;
    assert.deepStrictEqual(versions.files.map((f) => `${f.fileName}:${f.action}`),
        ['docs/hello world.txt:upload', 'docs/second.txt:hide', 'docs/second.txt:upload', 'large.bin:upload']);

    // Keys: create a restricted one, use it, list, delete.
    const key = (await b2.createKey({ capabilities: ['listBuckets', 'listFiles', 'readFiles'], keyName: 'node-key', bucketId, namePrefix: 'docs/' })).data;
    assert.strictEqual(key.bucketId, bucketId);
    const restricted = await authorized(key.applicationKeyId, key.applicationKey);
    const seen = (await restricted.listFileNames({ bucketId, startFileName: '', maxFileCount: 10, prefix: 'docs/', delimiter: null })).data;
    assert.strictEqual(seen.files.length, 1);
    await assert.rejects(restricted.listFileNames({ bucketId, startFileName: '', maxFileCount: 10, prefix: '', delimiter: null }),
        (err) => err.response.status === 401 && err.response.data.code === 'unauthorized');
    const keys = (await b2.listKeys({ maxKeyCount: 100 })).data;
    assert.ok(keys.keys.some((k) => k.applicationKeyId === key.applicationKeyId));
    await b2.deleteKey({ applicationKeyId: key.applicationKeyId });

    // Empty the bucket and delete it; errors come back as B2 JSON.
    for (const f of versions.files) {
        await b2.deleteFileVersion({ fileId: f.fileId, fileName: f.fileName });
    }
    await assert.rejects(b2.deleteFileVersion({ fileId: file.fileId, fileName: 'docs/hello world.txt' }),
        (err) => err.response.status === 400 && err.response.data.code === 'file_not_present');
    const deleted = (await b2.deleteBucket({ bucketId })).data;
    assert.strictEqual(deleted.bucketName, 'node-bucket');
});
