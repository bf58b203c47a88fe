// Uploads straight to storage through the B2 Native API (one upload URL per file, or a large file in
// parallel parts), or through S3 multipart uploads presigned by the server (`via = "s3"`). Bodies are sent as File slices, which the browser streams from disk; only the part
// being hashed (for its SHA-1) is read into memory, so a 1 GB file never sits whole in the tab.

import { ApiError, b2, encodeName, presignS3, sameOriginUrl } from "./api.js";
import { sha1OfBlob } from "./sha1.js";

const PARALLEL_FILES = 3;
const PARALLEL_PARTS = 3;
const MAX_PART = 16 * 1000 * 1000;
const RETRIABLE = new Set([401, 408, 429, 500, 503]);

async function sha1Hex(blob) {
  // SubtleCrypto exists only in secure contexts (https, localhost); elsewhere the script's own SHA-1 runs.
  if (!globalThis.crypto?.subtle) return sha1OfBlob(blob);
  const digest = await crypto.subtle.digest("SHA-1", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}


export class Uploads {
  constructor(storageApi, onChange, onFileDone) {
    this.items = [];
    this.active = 0;
    this.onChange = onChange;
    this.onFileDone = onFileDone;
    const min = storageApi.absoluteMinimumPartSize || 5_000_000;
    this.partSize = Math.max(min, Math.min(storageApi.recommendedPartSize || MAX_PART, MAX_PART));
    this.nextId = 1;
    /** "b2": B2 upload URLs; "s3": S3 multipart uploads presigned by the server. */
    this.via = "b2";
    /** How long a finished upload stays in the panel. */
    this.doneLingerMs = 15000;
  }

  /** Queues files (each {file, path}) for upload into a bucket under a folder prefix. */
  add(bucket, prefix, entries) {
    for (const { file, path } of entries) {
      this.items.push({
        id: this.nextId++, file, bucketId: bucket.bucketId, bucketName: bucket.bucketName, name: prefix + path, via: this.via,
        state: "queued", sent: 0, total: file.size, started: 0, speed: 0, error: "", xhrs: new Set(),
      });
    }
    this.changed();
    this.pump();
  }

  changed() { this.onChange(this.items); }

  pump() {
    while (this.active < PARALLEL_FILES) {
      const next = this.items.find((i) => i.state === "queued");
      if (!next) return;
      this.run(next);
    }
  }

  async run(item) {
    this.active++;
    item.state = "uploading";
    // A resumed large file keeps the parts it has; the rate counts this run's bytes only.
    item.sent = this.kept(item);
    item.sentAtStart = item.sent;
    item.error = "";
    item.started = performance.now();
    this.changed();
    try {
      const file = item.via === "s3" ? await this.s3Multipart(item)
        : item.file.size > this.partSize ? await this.large(item) : await this.simple(item);
      if (item.state === "uploading") {
        item.state = "done";
        item.sent = item.total;
        item.fileId = file.fileId;
        this.onFileDone(item);
        // A finished upload leaves the panel after a while; failed and paused ones stay until dealt with.
        setTimeout(() => {
          if (item.state !== "done") return;
          this.items = this.items.filter((i) => i !== item);
          this.changed();
        }, this.doneLingerMs);
      }
    } catch (err) {
      if (item.state !== "canceled" && item.state !== "paused") {
        item.state = "failed";
        item.error = err.message || String(err);
      }
      // A paused file counts what the server keeps: its finished parts, not the bytes of parts cut short.
      if (item.state === "paused") item.sent = this.kept(item);
    } finally {
      this.active--;
      this.changed();
      this.pump();
    }
  }

  /** Bytes of a large file's parts the server has (none for a file sent whole). */
  kept(item) {
    return item.large ? item.large.sent.reduce((a, b, i) => a + (item.large.done[i] ? b : 0), 0) : 0;
  }

  progress(item, sent) {
    if (item.state !== "uploading") return;
    item.sent = sent;
    const seconds = (performance.now() - item.started) / 1000;
    item.speed = seconds > 0 ? (sent - (item.sentAtStart || 0)) / seconds : 0;
    this.changed();
  }

  headers(item, token, sha1) {
    return {
      Authorization: token,
      "X-Bz-File-Name": encodeName(item.name),
      "Content-Type": item.file.type || "b2/x-auto",
      "X-Bz-Content-Sha1": sha1,
      "X-Bz-Info-src_last_modified_millis": String(item.file.lastModified || Date.now()),
    };
  }

  async simple(item) {
    const sha1 = await sha1Hex(item.file);
    for (let attempt = 1; ; attempt++) {
      const target = await b2("b2_get_upload_url", { bucketId: item.bucketId });
      if (item.state !== "uploading") throw new Error("canceled");
      try {
        return await this.send(item, sameOriginUrl(target.uploadUrl), this.headers(item, target.authorizationToken, sha1), item.file,
          (loaded) => this.progress(item, loaded));
      } catch (err) {
        // B2 clients get a fresh upload URL and try again when an upload URL stops working.
        if (attempt >= 3 || !(err instanceof ApiError) || !RETRIABLE.has(err.status) || item.state !== "uploading") throw err;
      }
    }
  }

  /** A large file in parts; what it has sent survives a pause (`item.large`), so a resume sends the rest. */
  async large(item) {
    if (!item.large) {
      // The whole file's SHA-1 goes in its file info (`large_file_sha1`, as the b2 CLI and b2sdk record it),
      // so any B2 client can verify a download; it is read once for that, a slice at a time.
      item.hashing = true;
      this.changed();
      const whole = await sha1OfBlob(item.file);
      item.hashing = false;
      if (item.state !== "uploading") throw new Error(item.state);
      const started = await b2("b2_start_large_file", {
        bucketId: item.bucketId, fileName: item.name, contentType: item.file.type || "b2/x-auto",
        fileInfo: { src_last_modified_millis: String(item.file.lastModified || Date.now()), large_file_sha1: whole },
      });
      const count = Math.ceil(item.file.size / this.partSize);
      item.large = { fileId: started.fileId, sha1s: new Array(count), sent: new Array(count).fill(0), done: new Array(count).fill(false) };
    }
    const started = { fileId: item.large.fileId };
    const { sha1s, sent, done } = item.large;
    const pending = done.flatMap((finished, index) => (finished ? [] : [index]));
    for (const index of pending) sent[index] = 0;
    let next = 0;
    const worker = async () => {
      if (item.state !== "uploading") return;
      let target = await b2("b2_get_upload_part_url", { fileId: started.fileId });
      while (next < pending.length && item.state === "uploading") {
        const index = pending[next++];
        const slice = item.file.slice(index * this.partSize, Math.min(item.file.size, (index + 1) * this.partSize));
        sha1s[index] = await sha1Hex(slice);
        for (let attempt = 1; ; attempt++) {
          try {
            await this.send(item, sameOriginUrl(target.uploadUrl), {
              Authorization: target.authorizationToken, "X-Bz-Part-Number": String(index + 1), "X-Bz-Content-Sha1": sha1s[index],
            }, slice, (loaded) => { sent[index] = loaded; this.progress(item, sent.reduce((a, b) => a + b, 0)); });
            done[index] = true;
            break;
          } catch (err) {
            if (attempt >= 3 || !(err instanceof ApiError) || !RETRIABLE.has(err.status) || item.state !== "uploading") throw err;
            target = await b2("b2_get_upload_part_url", { fileId: started.fileId });
          }
        }
      }
    };
    // Let every worker stop before giving up on the file, so none of them calls the server for a file that
    // is already canceled.
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_PARTS, pending.length) }, worker));
    const failure = outcomes.find((o) => o.status === "rejected");
    // Paused: the parts sent stay on the server for the resume.
    if (item.state === "paused") throw new Error("paused");
    if (item.state !== "uploading" || failure) {
      item.large = null;
      await b2("b2_cancel_large_file", { fileId: started.fileId }).catch(() => {});
      throw failure && item.state === "uploading" ? failure.reason : new Error("canceled");
    }
    const finished = await b2("b2_finish_large_file", { fileId: started.fileId, partSha1Array: sha1s });
    item.large = null;
    return finished;
  }

  /** An S3 multipart upload: create, parts in parallel (each a presigned PUT), complete; aborted on failure. */
  async s3Multipart(item) {
    const s3 = (method, query, init = {}, metadata = undefined) => presignS3(method, item.bucketName, item.name, query, metadata)
      .then((url) => fetch(url, { method, ...init }))
      .then(async (r) => {
        const text = await r.text();
        if (!r.ok) throw new ApiError(r.status, (text.match(/<Code>([^<]*)/) || [])[1], (text.match(/<Message>([^<]*)/) || [])[1] || r.statusText);
        return text;
      });
    // The whole file's SHA-1, as B2 clients find it (file info `large_file_sha1`, S3 metadata to S3 clients).
    item.hashing = true;
    this.changed();
    const whole = await sha1OfBlob(item.file);
    item.hashing = false;
    if (item.state !== "uploading") throw new Error(item.state);
    const created = await s3("POST", { uploads: "" }, {
      headers: { "Content-Type": item.file.type || "application/octet-stream", "x-amz-meta-large_file_sha1": whole },
    }, { large_file_sha1: whole });
    const uploadId = (created.match(/<UploadId>([^<]*)<\/UploadId>/) || [])[1];
    if (!uploadId) throw new Error("the server named no upload id");
    const count = Math.max(1, Math.ceil(item.file.size / this.partSize));
    const etags = new Array(count);
    const sent = new Array(count).fill(0);
    let next = 0;
    const worker = async () => {
      while (next < count && item.state === "uploading") {
        const index = next++;
        const slice = item.file.slice(index * this.partSize, Math.min(item.file.size, (index + 1) * this.partSize));
        const url = await presignS3("PUT", item.bucketName, item.name, { partNumber: String(index + 1), uploadId });
        const xhr = await this.send(item, url, {}, slice, (loaded) => { sent[index] = loaded; this.progress(item, sent.reduce((a, b) => a + b, 0)); }, "PUT");
        etags[index] = xhr.etag;
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, worker));
    const failure = outcomes.find((o) => o.status === "rejected");
    if (item.state !== "uploading" || failure) {
      await s3("DELETE", { uploadId }).catch(() => {});
      throw failure && item.state === "uploading" ? failure.reason : new Error("canceled");
    }
    const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join("");
    await s3("POST", { uploadId }, { headers: { "Content-Type": "application/xml" }, body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>` });
    return {};
  }

  send(item, url, headers, body, onProgress, method = "POST") {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      item.xhrs.add(xhr);
      xhr.open(method, url);
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
      xhr.addEventListener("load", () => {
        item.xhrs.delete(xhr);
        let answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch { answer = null; }
        // An S3 part answers with an empty body and its ETag in a header.
        if (xhr.status >= 200 && xhr.status < 300) resolve(answer ?? { etag: xhr.getResponseHeader("ETag") });
        else reject(new ApiError(xhr.status, answer?.code, answer?.message || `upload failed (HTTP ${xhr.status})`));
      });
      xhr.addEventListener("error", () => { item.xhrs.delete(xhr); reject(new Error("network error")); });
      xhr.addEventListener("abort", () => { item.xhrs.delete(xhr); reject(new Error("canceled")); });
      xhr.send(body);
    });
  }

  /** Whether an upload can pause: a large file on its way (its parts sent so far are kept). */
  canPause(item) {
    return item.state === "uploading" && item.via !== "s3" && item.file.size > this.partSize;
  }

  pause(item) {
    if (!this.canPause(item)) return;
    item.state = "paused";
    for (const xhr of item.xhrs) xhr.abort();
    item.sent = this.kept(item);
    this.changed();
  }

  resume(item) {
    if (item.state !== "paused") return;
    item.state = "queued";
    this.changed();
    this.pump();
  }

  cancel(item) {
    if (item.state === "paused") {
      // Nothing runs for a paused file: cancel its large file here.
      item.state = "canceled";
      if (item.large) b2("b2_cancel_large_file", { fileId: item.large.fileId }).catch(() => {});
      item.large = null;
      this.changed();
      return;
    }
    if (item.state !== "uploading" && item.state !== "queued") return;
    // The running upload notices and cleans up (a large file is canceled on the server once its parts stop).
    item.state = "canceled";
    for (const xhr of item.xhrs) xhr.abort();
    this.changed();
  }

  retry(item) {
    if (item.state !== "failed" && item.state !== "canceled") return;
    item.state = "queued";
    item.sent = 0;
    this.changed();
    this.pump();
  }

  clearFinished() {
    this.items = this.items.filter((i) => ["uploading", "queued", "paused", "failed"].includes(i.state));
    this.changed();
  }
}

/** Files from a drop, with their paths inside dropped folders. */
export async function droppedFiles(dataTransfer) {
  const entries = [...(dataTransfer.items || [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  const walk = async (entry, path) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: path + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${path}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}

/** Files picked with the file input (a folder picker gives relative paths). */
export function pickedFiles(fileList) {
  return [...fileList].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}
