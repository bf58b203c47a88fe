// Helpers the Chromium test and the console benchmarks share: test images, and a server of their own.
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const net = require('node:net');
const zlib = require('node:zlib');

/** A PNG of random pixels (as large as a photo's detail makes one), encoded here with node's zlib. */
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

async function freePort() {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    });
}

/** `stowage serve` on `dataDir` with the given root key, answering; `{ url, server }` (kill it when done). */
async function startServer(bin, dataDir, keyId, key) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawn(bin, ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`],
        { env: { ...process.env, STOWAGE_ROOT_KEY_ID: keyId, STOWAGE_ROOT_KEY: key }, stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
        try { if ((await fetch(`${url}/_health`)).ok) break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    return { url, server };
}

module.exports = { noisePng, freePort, startServer };
