// Talks to the server: the session endpoints and B2 Native API calls proxied with the session's token.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

const HEADERS = { "Content-Type": "application/json", "X-Stowage-Console": "1" };

async function parse(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    throw new ApiError(response.status, body?.code, body?.message || text || response.statusText);
  }
  return body;
}

export async function currentSession() {
  const response = await fetch("/_console/api/session", { headers: HEADERS });
  if (response.status === 204) return null;
  return parse(response);
}

export async function signIn(keyId, key) {
  return parse(await fetch("/_console/api/session", { method: "POST", headers: HEADERS, body: JSON.stringify({ keyId, key }) }));
}

export async function signOut() {
  await fetch("/_console/api/session", { method: "DELETE", headers: HEADERS });
}

let vocabularyAnswer = null;

/** The names the server accepts (capabilities, CORS operations, event types), fetched once per page. */
export async function vocabulary() {
  vocabularyAnswer ||= fetch("/_console/api/vocabulary", { headers: HEADERS }).then(parse);
  return vocabularyAnswer;
}

export async function overview() {
  return parse(await fetch("/_console/api/overview", { headers: HEADERS }));
}

/** A bucket's daily files and bytes over the last `days` days (the server records a figure a day). */
export async function usageHistory(bucketId, days = 30) {
  return parse(await fetch(`/_console/api/usage/${encodeURIComponent(bucketId)}?days=${days}`, { headers: HEADERS }));
}

/** An S3 multipart upload request (create, part, complete, abort) presigned by the server with the session's key;
 * `metadata` (create only) is signed as `x-amz-meta-*` headers the request must then carry. */
export async function presignS3(method, bucket, key, query, metadata) {
  const answer = await parse(await fetch("/_console/api/s3/presign", { method: "POST", headers: HEADERS, body: JSON.stringify({ method, bucket, key, query, metadata }) }));
  return sameOriginUrl(answer.url);
}

/** The page's own origin for URLs the server hands out, so uploads stay same-origin. */
export function sameOriginUrl(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

/** One B2 Native API operation, e.g. b2("b2_list_buckets", {accountId}). */
export async function b2(op, params = {}) {
  return parse(await fetch(`/_console/api/b2/${op}`, { method: "POST", headers: HEADERS, body: JSON.stringify(params) }));
}

export function encodeName(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** A URL the signed-in page can load (downloads, thumbnails) without exposing a token. */
export function consoleFileUrl(bucketName, fileName, { fileId, attachment } = {}) {
  const query = new URLSearchParams();
  if (fileId) query.set("fileId", fileId);
  if (attachment) query.set("attachment", "1");
  const q = query.toString();
  return `/_console/api/download/${encodeURIComponent(bucketName)}/${encodeName(fileName)}${q ? "?" + q : ""}`;
}

/** A zip archive of files and folders (names ending in "/"), entries named relative to `base`. */
export function consoleZipUrl(bucketName, base, names) {
  const query = new URLSearchParams({ base });
  for (const name of names) query.append("name", name);
  return `/_console/api/zip/${encodeURIComponent(bucketName)}?${query}`;
}

/** A stretch of a name search across a bucket: files whose names contain `text`, resumed after `after`. */
export async function searchNames(bucketName, text, after) {
  const query = new URLSearchParams({ q: text });
  if (after) query.set("after", after);
  return parse(await fetch(`/_console/api/search/${encodeURIComponent(bucketName)}?${query}`, { headers: HEADERS }));
}
