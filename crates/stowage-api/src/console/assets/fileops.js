// Server-side file operations: copy, move and rename (a folder too), making an older version current, new
// metadata, and deleting every version of a name. Bytes never pass through the browser: each copy is
// b2_copy_file, or a large file of b2_copy_part ranges above what one copy may hold.

import { b2 } from "./api.js";

/** The most one b2_copy_file copies (B2's limit); larger files are copied in parts. */
export const MAX_WHOLE_COPY = 5_000_000_000;

/** Every version of one name (newest first, as B2 lists them), unfinished large files left out. */
export async function versionsOfName(bucketId, name) {
  const versions = [];
  let start = { startFileName: name };
  for (;;) {
    const page = await b2("b2_list_file_versions", { bucketId, prefix: name, maxFileCount: 1000, ...start });
    versions.push(...page.files.filter((v) => v.fileName === name && v.action !== "start"));
    if (!page.nextFileName || page.nextFileName !== name) return versions;
    start = { startFileName: page.nextFileName, startFileId: page.nextFileId };
  }
}

/** The current version of every file under a folder (hidden files left out). */
export async function filesUnder(bucketId, prefix) {
  const files = [];
  let start = {};
  for (;;) {
    const page = await b2("b2_list_file_names", { bucketId, prefix, maxFileCount: 1000, ...start });
    files.push(...page.files.filter((f) => f.action === "upload"));
    if (!page.nextFileName) return files;
    start = { startFileName: page.nextFileName };
  }
}

/** Deletes versions of one name oldest first and stops at the first refusal, so a failure part-way never
 * brings an older version back into view. Returns how many went, and the refusal if one came. */
export async function deleteOldestFirst(versions) {
  let done = 0;
  for (const v of [...versions].reverse()) {
    try {
      await b2("b2_delete_file_version", { fileName: v.fileName, fileId: v.fileId });
      done++;
    } catch (err) {
      return { done, failed: err };
    }
  }
  return { done, failed: null };
}

/** Copies one stored version to `destName` in `destBucketId`; `replace` ({contentType, fileInfo}) gives the
 * copy new metadata instead of the source's. */
export async function copyVersion(source, destBucketId, destName, { replace = null } = {}) {
  if (source.contentLength > MAX_WHOLE_COPY) return copyInParts(source, destBucketId, destName, { replace });
  const params = { sourceFileId: source.fileId, fileName: destName, destinationBucketId: destBucketId };
  if (replace) Object.assign(params, { metadataDirective: "REPLACE", contentType: replace.contentType, fileInfo: replace.fileInfo });
  return b2("b2_copy_file", params);
}

/** A copy as a large file of b2_copy_part ranges (B2 allows at most 10 000 parts), the whole file's SHA-1
 * kept in its file info as b2 CLI and b2sdk copies keep it; canceled if a part fails. */
export async function copyInParts(source, destBucketId, destName, { replace = null, partSize = Math.max(100_000_000, Math.ceil(source.contentLength / 10_000)) } = {}) {
  const fileInfo = { ...(replace ? replace.fileInfo : source.fileInfo || {}) };
  const whole = source.fileInfo?.large_file_sha1 || (source.contentSha1 && source.contentSha1 !== "none" ? source.contentSha1.replace(/^unverified:/, "") : null);
  if (whole && !fileInfo.large_file_sha1) fileInfo.large_file_sha1 = whole;
  const started = await b2("b2_start_large_file", {
    bucketId: destBucketId, fileName: destName, contentType: replace ? replace.contentType : source.contentType, fileInfo,
  });
  try {
    const sha1s = [];
    for (let at = 0, number = 1; at < source.contentLength; at += partSize, number++) {
      const last = Math.min(source.contentLength, at + partSize) - 1;
      const part = await b2("b2_copy_part", { sourceFileId: source.fileId, largeFileId: started.fileId, partNumber: number, range: `bytes=${at}-${last}` });
      sha1s.push(part.contentSha1);
    }
    return await b2("b2_finish_large_file", { fileId: started.fileId, partSha1Array: sha1s });
  } catch (err) {
    await b2("b2_cancel_large_file", { fileId: started.fileId }).catch(() => {});
    throw err;
  }
}

/** What copying or moving `entries` (files and folders as listed) into `destFolder` does: each file's
 * current version and its new name, paths kept relative to `base` (the folder the entries lie in). */
export async function planTransfer(bucketId, entries, base, destFolder) {
  const plan = [];
  for (const entry of entries) {
    const files = entry.action === "folder" ? await filesUnder(bucketId, entry.fileName) : [entry];
    for (const source of files) plan.push({ source, destName: destFolder + source.fileName.slice(base.length) });
  }
  return plan;
}

/** Runs a plan: each file copied server-side, then (a move) every version of its old name deleted, oldest
 * first, once its copy exists. `onProgress(done, total)` after each file. Returns what failed, by name. */
export async function runTransfer(plan, destBucketId, sourceBucketId, move, onProgress = () => {}) {
  const failures = [];
  let done = 0;
  for (const { source, destName } of plan) {
    if (destBucketId === sourceBucketId && destName === source.fileName) {
      done++;
      onProgress(done, plan.length);
      continue;
    }
    try {
      await copyVersion(source, destBucketId, destName);
      if (move) {
        const { failed } = await deleteOldestFirst(await versionsOfName(sourceBucketId, source.fileName));
        if (failed) throw new Error(`copied, but the old name stays: ${failed.message}`);
      }
    } catch (err) {
      failures.push(`${source.fileName}: ${err.message}`);
    }
    done++;
    onProgress(done, plan.length);
  }
  return failures;
}
