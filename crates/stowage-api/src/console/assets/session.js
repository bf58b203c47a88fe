// The signed-in session and what its key allows, shared by the console's views (app.js routes between
// them; browse.js is the file browser).

import { b2 } from "./api.js";
import { h } from "./ui.js";

/** `session`: the signed-in key's authorization; `uploads`: the upload queue; `onUploadDone`: what the
 * view on screen does when an upload finishes; `rerender`: draws the current route again. */
export const state = { session: null, uploads: null, onUploadDone: () => {}, rerender: () => {} };

export const storage = () => state.session.apiInfo.storageApi;
export const allowed = () => storage().allowed || {};
export const can = (capability) => (allowed().capabilities || []).includes(capability);
/** Where links for others point: the server's public URL, or, when none was set (the server names a loopback
 * or unspecified address), the address this browser reached the console at. */
export const publicBase = () => {
  const configured = storage().downloadUrl.replace(/\/$/, "");
  const host = new URL(configured).hostname;
  const unreachable = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::]"].includes(host) || host.startsWith("127.");
  return unreachable ? location.origin : configured;
};

/** A button for an action the key's capabilities may rule out: then shown disabled, the reason on hover. */
export function actionButton(capability, text, onclick, attrs = {}) {
  if (!capability || can(capability)) return h("button", { type: "button", ...attrs, onclick }, text);
  const reason = `This key lacks the ${capability} capability`;
  return h("button", { type: "button", ...attrs, class: `${attrs.class || ""} ruled-out`.trim(), "aria-disabled": "true", title: reason }, text);
}

export function browseHash(bucketName, prefix = "") {
  return `#/browse/${encodeURIComponent(bucketName)}/${prefix.split("/").map(encodeURIComponent).join("/")}`;
}

/** The buckets this key may see (a key restricted to buckets must name them when listing). */
export async function listBuckets() {
  const restricted = allowed().buckets;
  if (restricted && restricted.length) {
    const found = [];
    for (const b of restricted) {
      const answer = await b2("b2_list_buckets", { accountId: state.session.accountId, bucketId: b.id });
      found.push(...answer.buckets);
    }
    return found;
  }
  return (await b2("b2_list_buckets", { accountId: state.session.accountId })).buckets;
}
