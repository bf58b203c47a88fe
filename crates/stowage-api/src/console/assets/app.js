// The Stowage console: sign-in, storage overview, buckets (settings, CORS, lifecycle), application keys,
// and the routes between them; browsing with uploads, file details and sharing live in browse.js. Every action is a B2 Native API call made with
// the signed-in key, so the console shows and does exactly what that key may.

import { ApiError, b2, currentSession, overview, signIn, signOut, usageHistory, vocabulary } from "./api.js";
import { renderUploads, showBrowse } from "./browse.js";
import { actionButton, allowed, browseHash, can, listBuckets, state, storage } from "./session.js";
import { confirmAction, copyText, errorText, exactTime, formatBytes, formatDate, h, modal, toast } from "./ui.js";
import { Uploads } from "./upload.js";

const app = document.getElementById("app");


// ---------------------------------------------------------------- start, sign-in, shell, routing

async function start() {
  try {
    state.session = await currentSession();
  } catch (err) {
    app.replaceChildren(h("p", { class: "error" }, `Could not reach the server: ${errorText(err)}`));
    return;
  }
  if (!state.session) return showSignIn();
  state.uploads = new Uploads(storage(), (items) => renderUploads(items), (item) => state.onUploadDone(item));
  showShell();
}

function showSignIn(message = "") {
  const error = h("p", { class: "error", role: "alert" }, message);
  const keyId = h("input", { type: "text", id: "key-id", name: "keyId", autocomplete: "username", required: true });
  const key = h("input", { type: "password", id: "key", name: "key", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "signin", "aria-label": "Sign in" },
    h("h1", {}, "Stowage"),
    h("p", { class: "muted" }, "Sign in with an application key. The root key was printed when the server first started."),
    h("label", { for: "key-id" }, "Application key ID"), keyId,
    h("label", { for: "key" }, "Application key"), key,
    error, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      await signIn(keyId.value, key.value);
      await start();
    } catch (err) {
      error.textContent = err.status === 401 ? "That key ID and key were not accepted." : errorText(err);
      submit.disabled = false;
    }
  });
  app.replaceChildren(form);
  keyId.focus();
}

function showShell() {
  const links = [["#/overview", "Overview"], ["#/buckets", "Buckets"], ["#/keys", "App keys"]];
  const nav = h("nav", { class: "side", "aria-label": "Main" },
    h("div", { class: "brand" }, "Stowage"),
    links.map(([href, text]) => h("a", { href }, text)),
    h("div", { class: "who" },
      h("span", {}, `Key ${state.session.applicationKeyId}`),
      h("button", { type: "button", id: "sign-out", onclick: async () => { await signOut(); state.session = null; location.hash = ""; showSignIn(); } }, "Sign out")));
  const main = h("main", { id: "main", tabindex: "-1" });
  // Uploads stay in view on every page while they run.
  const uploadsPanel = h("section", { class: "uploads", id: "uploads", "aria-label": "Uploads" });
  app.replaceChildren(h("div", { class: "shell" }, nav, h("div", { class: "content" }, uploadsPanel, main)));
  renderUploads(state.uploads.items);
  route();
}

window.addEventListener("hashchange", () => { if (state.session) route(); });
state.rerender = () => route();

async function route() {
  const current = document.getElementById("main");
  if (!current) return;
  // Each route renders into a main element of its own: one still loading when the next starts ends up
  // drawing into a detached element, never over the newer page.
  const main = h("main", { id: "main", tabindex: "-1" });
  current.replaceWith(main);
  const hash = location.hash || "#/overview";
  for (const a of document.querySelectorAll("nav.side a")) {
    a.toggleAttribute("aria-current", hash.startsWith(a.getAttribute("href")));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    if (hash.startsWith("#/browse/")) {
      const [bucketName, ...rest] = hash.slice("#/browse/".length).split("/");
      await showBrowse(main, decodeURIComponent(bucketName), rest.map(decodeURIComponent).join("/"));
    } else if (hash.startsWith("#/buckets")) await showBuckets(main);
    else if (hash.startsWith("#/keys")) await showKeys(main);
    else await showOverview(main);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && err.code === "bad_auth_token") return showSignIn("Your session has ended; sign in again.");
    main.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, errorText(err)));
  }
}


// ---------------------------------------------------------------- overview

/** A small line of stored bytes per day, with the figures in words for screen readers and on hover. */
/** A bucket's stored bytes by day, with its scale written out: the largest figure on the left axis, the first
 * and last day below. A bucket's first day is one point, labelled as such. */
function usageChart(days) {
  if (!days.length) return h("span", { class: "muted" }, "—");
  const width = 160;
  const height = 40;
  const top = Math.max(...days.map((d) => d.bytes), 1);
  const first = days[0].date;
  const span = Math.max(days[days.length - 1].date - first, 86_400_000);
  const y = (bytes) => height - 3 - (bytes / top) * (height - 6);
  const x = (date) => ((date - first) / span) * (width - 6) + 3;
  const last = days[days.length - 1];
  const day = (ms) => new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const label = days.length === 1
    ? `${formatBytes(last.bytes)} (${last.files} files) on ${day(last.date)}, the first day recorded`
    : `${formatBytes(days[0].bytes)} on ${day(days[0].date)}, ${formatBytes(last.bytes)} (${last.files} files) on ${day(last.date)}`;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Stored bytes by day: ${label}`);
  const axis = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  axis.setAttribute("points", `1,1 1,${height - 1} ${width - 1},${height - 1}`);
  axis.setAttribute("fill", "none");
  axis.setAttribute("stroke", "#8792a8");
  axis.setAttribute("stroke-width", "1");
  const mark = document.createElementNS("http://www.w3.org/2000/svg", days.length === 1 ? "circle" : "polyline");
  if (days.length === 1) {
    mark.setAttribute("cx", width / 2);
    mark.setAttribute("cy", y(last.bytes));
    mark.setAttribute("r", "3");
    mark.setAttribute("fill", "#1f4fd1");
  } else {
    mark.setAttribute("points", days.map((d) => `${x(d.date)},${y(d.bytes)}`).join(" "));
    mark.setAttribute("fill", "none");
    mark.setAttribute("stroke", "#1f4fd1");
    mark.setAttribute("stroke-width", "2");
  }
  svg.append(axis, mark);
  return h("span", { class: "usage-chart", title: label },
    h("span", { class: "scale" }, formatBytes(top)), svg,
    h("span", { class: "days" }, days.length === 1 ? `${day(last.date)} (first day)` : `${day(days[0].date)} – ${day(last.date)}`));
}

async function showOverview(main) {
  const data = await overview();
  // Daily figures cover whole buckets: a key limited to a name prefix sees none.
  const histories = allowed().namePrefix ? data.buckets.map(() => null)
    : await Promise.all(data.buckets.map((b) => usageHistory(b.bucketId).then((u) => u.days, () => null)));
  const rows = data.buckets.map((b, i) => h("tr", { dataset: { bucket: b.bucketName } },
    h("td", { class: "name" }, h("a", { href: browseHash(b.bucketName) }, b.bucketName)),
    h("td", {}, typeBadge(b.bucketType)),
    h("td", {}, b.files ?? "—"),
    h("td", {}, formatBytes(b.bytes)),
    h("td", { class: "usage" }, histories[i] ? usageChart(histories[i]) : h("span", { class: "muted" }, "—")),
    h("td", { class: "hide-narrow" }, formatDate(b.lastUpload))));
  // A key limited to a name prefix counts only what it may list: the labels say so.
  const within = allowed().namePrefix ? ` in ${allowed().namePrefix}` : "";
  main.replaceChildren(
    h("h1", {}, "Storage overview"),
    h("div", { class: "cards" },
      card(`Files${within}`, String(data.files), "total-files"),
      card(`Storage used${within}`, formatBytes(data.bytes), "total-bytes"),
      card("Buckets", String(data.buckets.length), "bucket-count"),
      card("Last upload", formatDate(data.lastUpload), "last-upload", true)),
    data.buckets.length
      ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Usage by bucket" },
        h("thead", {}, h("tr", {}, h("th", {}, "Bucket"), h("th", {}, "Type"), h("th", {}, `Files${within}`), h("th", {}, `Size${within}`),
          h("th", {}, "Stored, last 30 days"), h("th", { class: "hide-narrow" }, "Last upload"))),
        h("tbody", {}, rows)))
      : h("p", { class: "empty" }, "No buckets yet. ", h("a", { href: "#/buckets" }, "Create one")));
}

function card(label, figure, id, small = false) {
  return h("div", { class: "card", id }, h("div", { class: small ? "figure small" : "figure" }, figure), h("div", { class: "label" }, label));
}

function typeBadge(type) {
  return h("span", { class: type === "allPublic" ? "badge public" : "badge" }, type === "allPublic" ? "Public" : "Private");
}

// ---------------------------------------------------------------- buckets

async function showBuckets(main) {
  const [buckets, usage] = await Promise.all([listBuckets(), overview().catch(() => ({ buckets: [] }))]);
  // Figures cover what this key may list (its name prefix, if any), as on the overview.
  const figures = new Map(usage.buckets.map((u) => [u.bucketId, u]));
  const rows = buckets.map((b) => h("tr", { dataset: { bucket: b.bucketName } },
    h("td", { class: "name" }, h("a", { href: browseHash(b.bucketName) }, b.bucketName)),
    h("td", {}, typeBadge(b.bucketType)),
    h("td", { class: "files hide-narrow" }, figures.get(b.bucketId)?.files ?? "—"),
    h("td", { class: "bytes" }, formatBytes(figures.get(b.bucketId)?.bytes)),
    h("td", { class: "hide-narrow" }, b.defaultServerSideEncryption?.value?.mode === "SSE-B2" ? "SSE-B2" : "None"),
    h("td", { class: "hide-narrow" }, b.fileLockConfiguration?.value?.isFileLockEnabled ? "Enabled" : "Disabled"),
    h("td", { class: "actions" },
      actionButton("writeBuckets", "Settings", () => editBucket(b), { class: "link" }),
      actionButton("writeBuckets", "CORS rules", () => editCors(b), { class: "link" }),
      actionButton("writeBuckets", "Lifecycle", () => editLifecycle(b), { class: "link" }),
      actionButton("readBucketNotifications", "Notifications", () => editNotifications(b), { class: "link" }),
      actionButton("deleteBuckets", "Delete", () => deleteBucket(b), { class: "link danger" }))));
  main.replaceChildren(
    h("div", { class: "bar" }, h("h1", { class: "grow" }, "Buckets"),
      actionButton("writeBuckets", "Create a bucket", createBucket, { class: "primary", id: "create-bucket" })),
    h("p", { class: "muted" }, "Endpoint (S3 API and B2 Native API): ", h("span", { class: "mono", id: "endpoint" }, storage().s3ApiUrl)),
    buckets.length
      ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Buckets" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Type"), h("th", { class: "hide-narrow" }, "Files"), h("th", {}, "Size"), h("th", { class: "hide-narrow" }, "Encryption"), h("th", { class: "hide-narrow" }, "Object lock"), h("th", {}, "Actions"))),
        h("tbody", {}, rows)))
      : h("p", { class: "empty" }, "No buckets yet."));
}

/** Runs a save; on failure shows the server's message in the dialog instead of closing it. */
async function attempt(errorEl, action) {
  errorEl.textContent = "";
  try {
    return await action();
  } catch (err) {
    errorEl.textContent = errorText(err);
    return undefined;
  }
}

function createBucket() {
  modal("Create a bucket", (close) => {
    const name = h("input", { type: "text", id: "bucket-name", required: true, minlength: 6, maxlength: 63, autocomplete: "off" });
    const type = h("select", { id: "bucket-type" }, h("option", { value: "allPrivate" }, "Private"), h("option", { value: "allPublic" }, "Public"));
    const encrypt = h("input", { type: "checkbox", id: "bucket-encryption" });
    const lock = h("input", { type: "checkbox", id: "bucket-lock" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "bucket-name" }, "Bucket name"), name,
      h("p", { class: "muted" }, "6–63 characters: letters, digits and hyphens; unique on this server."),
      h("label", { for: "bucket-type" }, "Files in bucket are"), type,
      h("label", { class: "inline" }, encrypt, "Encrypt new files (SSE-B2)"),
      h("label", { class: "inline" }, lock, "Enable object lock"),
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Create bucket")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (type.value === "allPublic" && !(await confirmPublic(name.value.trim()))) return;
      const params = { accountId: state.session.accountId, bucketName: name.value.trim(), bucketType: type.value, fileLockEnabled: lock.checked };
      if (encrypt.checked) params.defaultServerSideEncryption = { mode: "SSE-B2", algorithm: "AES256" };
      const made = await attempt(error, () => b2("b2_create_bucket", params));
      if (made) { close(); toast(`Bucket ${made.bucketName} created`); route(); }
    });
    setTimeout(() => name.focus());
    return form;
  });
}

/** Asked before a bucket becomes public: every file in it is then readable by anyone with its URL. */
function confirmPublic(bucketName) {
  return confirmAction("Make the bucket public?",
    `Anyone who has or guesses a file's URL will be able to download every file in "${bucketName}", without signing in.`, "Make public");
}

function editBucket(bucket) {
  modal(`Bucket settings: ${bucket.bucketName}`, (close) => {
    const type = h("select", { id: "settings-type" },
      h("option", { value: "allPrivate", selected: bucket.bucketType === "allPrivate" }, "Private"),
      h("option", { value: "allPublic", selected: bucket.bucketType === "allPublic" }, "Public"));
    const encrypt = h("input", { type: "checkbox", id: "settings-encryption", checked: bucket.defaultServerSideEncryption?.value?.mode === "SSE-B2" });
    const info = h("textarea", { id: "settings-info", rows: 4, placeholder: "key=value, one per line" },
      Object.entries(bucket.bucketInfo || {}).map(([k, v]) => `${k}=${v}`).join("\n"));
    const lockOn = !!bucket.fileLockConfiguration?.value?.isFileLockEnabled;
    const retention = bucket.fileLockConfiguration?.value?.defaultRetention || {};
    const lock = h("input", { type: "checkbox", id: "settings-lock", checked: lockOn, disabled: lockOn });
    const mode = h("select", { id: "settings-retention-mode" },
      ["none", "governance", "compliance"].map((m) => h("option", { value: m, selected: (retention.mode || "none") === m }, m)));
    const days = h("input", { type: "number", id: "settings-retention-days", min: 1, value: retention.period?.duration || "" });
    const error = h("p", { class: "error", role: "alert" });
    // Default retention means something only with object lock on.
    const retentionBox = h("div", { class: "rule", id: "settings-retention", hidden: !lockOn },
      h("label", { for: "settings-retention-mode" }, "Default retention (object lock)"), mode,
      h("label", { for: "settings-retention-days" }, "Retention period in days"), days);
    lock.addEventListener("change", () => { retentionBox.hidden = !lock.checked; });
    const form = h("form", {},
      h("label", { for: "settings-type" }, "Files in bucket are"), type,
      h("label", { for: "settings-info" }, "Bucket info"), info,
      h("label", { class: "inline" }, encrypt, "Encrypt new files by default (SSE-B2)"),
      h("label", { class: "inline" }, lock, lockOn ? "Object lock is enabled (it cannot be turned off)" : "Enable object lock"),
      retentionBox,
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Save")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const bucketInfo = {};
      for (const line of info.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const at = line.indexOf("=");
        if (at < 1) { error.textContent = `Bucket info lines are key=value: "${line}"`; return; }
        bucketInfo[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      if (type.value === "allPublic" && bucket.bucketType !== "allPublic" && !(await confirmPublic(bucket.bucketName))) return;
      const params = {
        accountId: state.session.accountId, bucketId: bucket.bucketId, bucketType: type.value, bucketInfo,
        defaultServerSideEncryption: encrypt.checked ? { mode: "SSE-B2", algorithm: "AES256" } : { mode: null },
      };
      if (lock.checked && !lockOn) params.fileLockEnabled = true;
      if (lock.checked || lockOn) {
        params.defaultRetention = mode.value === "none" ? { mode: null }
          : { mode: mode.value, period: { duration: Number(days.value), unit: "days" } };
        if (mode.value !== "none" && !(Number(days.value) >= 1)) { error.textContent = "A default retention needs a period of at least one day."; return; }
      }
      const saved = await attempt(error, () => b2("b2_update_bucket", params));
      if (saved) { close(); toast("Bucket settings saved"); route(); }
    });
    return form;
  });
}


/** A dialog editing one of a bucket's rule lists, a fieldset per rule; `save` stores them (by default with
 * b2_update_bucket under `field`). */
function rulesEditor(bucket, { what, field, idPrefix, intro, ruleFields, readRule, rules = bucket[field], presets = [],
  save = (list) => b2("b2_update_bucket", { accountId: state.session.accountId, bucketId: bucket.bucketId, [field]: list }) }) {
  modal(`${what}: ${bucket.bucketName}`, (close) => {
    const list = h("div", { id: `${idPrefix}-rules` });
    let made = 0;
    const addRule = (rule = {}) => {
      // Every field is named by its label: ids unique to this rule tie them.
      const seq = ++made;
      const field = new RuleFields(`${idPrefix}-${seq}`);
      const box = h("fieldset", { class: "rule" },
        h("legend", {}, `Rule ${list.children.length + 1}`),
        ruleFields(rule, list.children.length + 1, field),
        h("button", { type: "button", class: "link danger", onclick: () => box.remove() }, "Remove rule"));
      list.append(box);
    };
    (rules || []).forEach((rule) => addRule(rule));
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("p", { class: "muted" }, intro),
      list,
      h("div", { class: "bar presets" },
        h("button", { type: "button", id: `add-${idPrefix}-rule`, onclick: () => addRule() }, "Add a rule"),
        // Common rules, filled in and left to review before saving.
        presets.map(([label, rule], i) => h("button", { type: "button", id: `${idPrefix}-preset-${i + 1}`, onclick: () => addRule(rule()) }, label))),
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Save rules")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const rules = [...list.querySelectorAll(":scope > fieldset")].map((box) => readRule((name) => box.querySelector(`[name=${name}]`).value, box));
      const saved = await attempt(error, () => save(rules));
      if (saved) { close(); toast(`${what} saved`); route(); }
    });
    return form;
  });
}

/** Labelled inputs of one rule in a rules editor: each label's `for` names its input. */
class RuleFields {
  constructor(prefix) { this.prefix = prefix; }
  id(name) { return `${this.prefix}-${name}`; }
  text(name, label, value, placeholder) {
    return [h("label", { for: this.id(name) }, label), h("input", { type: "text", id: this.id(name), name, value: value ?? "", placeholder })];
  }
  number(name, label, value) {
    return h("div", {}, h("label", { for: this.id(name) }, label), h("input", { type: "number", min: 1, id: this.id(name), name, value: value ?? "" }));
  }
  textarea(name, label, value) {
    return [h("label", { for: this.id(name) }, label), h("textarea", { id: this.id(name), name, rows: 2 }, value)];
  }
  /** A group of checkboxes named by a legend. */
  checks(name, legend, values, checked) {
    return h("fieldset", { class: "checks" }, h("legend", {}, legend), values.map((v) => h("label", { class: "inline" },
      h("input", { type: "checkbox", name, value: v, checked: checked.has(v) }), v)));
  }
}

async function editCors(bucket) {
  const { corsOperations } = await vocabulary();
  const split = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);
  rulesEditor(bucket, {
    what: "CORS rules", field: "corsRules", idPrefix: "cors",
    intro: "Browsers on the allowed origins may call the chosen operations (B2 and S3 share one rule set).",
    presets: [
      ["Allow uploads from this origin", () => ({
        corsRuleName: "uploads-from-console", allowedOrigins: [location.origin],
        allowedOperations: ["b2_upload_file", "b2_upload_part", "s3_put", "s3_post"], allowedHeaders: ["*"],
        exposeHeaders: ["x-bz-content-sha1", "etag"], maxAgeSeconds: 3600,
      })],
      ["Allow every origin to read", () => ({
        corsRuleName: "read-from-anywhere", allowedOrigins: ["*"],
        allowedOperations: ["b2_download_file_by_name", "b2_download_file_by_id", "s3_get", "s3_head"], maxAgeSeconds: 3600,
      })],
    ],
    ruleFields: (rule, n, field) => [
      field.text("corsRuleName", "Rule name", rule.corsRuleName || `rule-${n}`),
      field.text("allowedOrigins", "Allowed origins (comma separated)", (rule.allowedOrigins || []).join(", "), "https://example.com, *"),
      field.checks("op", "Allowed operations", corsOperations, new Set(rule.allowedOperations || [])),
      field.text("allowedHeaders", "Allowed headers (comma separated)", (rule.allowedHeaders || []).join(", "), "*"),
      field.text("exposeHeaders", "Expose headers (comma separated)", (rule.exposeHeaders || []).join(", "), "x-bz-content-sha1"),
      field.text("maxAgeSeconds", "Max age (seconds)", rule.maxAgeSeconds ?? 3600),
    ],
    readRule: (value, box) => {
      const rule = {
        corsRuleName: value("corsRuleName").trim(),
        allowedOrigins: split(value("allowedOrigins")),
        allowedOperations: [...box.querySelectorAll("[name=op]:checked")].map((c) => c.value),
        maxAgeSeconds: Number(value("maxAgeSeconds")),
      };
      const headers = split(value("allowedHeaders"));
      const expose = split(value("exposeHeaders"));
      if (headers.length) rule.allowedHeaders = headers;
      if (expose.length) rule.exposeHeaders = expose;
      return rule;
    },
  });
}

function editLifecycle(bucket) {
  rulesEditor(bucket, {
    what: "Lifecycle rules", field: "lifecycleRules", idPrefix: "lifecycle",
    intro: "Hide files N days after upload; delete versions N days after they are hidden or replaced.",
    presets: [
      ["Keep only the last version", () => ({ fileNamePrefix: "", daysFromHidingToDeleting: 1 })],
      ["Delete old versions after 30 days", () => ({ fileNamePrefix: "", daysFromHidingToDeleting: 30 })],
    ],
    ruleFields: (rule, n, field) => [
      field.text("fileNamePrefix", "File name prefix (empty: the whole bucket)", rule.fileNamePrefix),
      h("div", { class: "row" },
        field.number("daysFromUploadingToHiding", "Days from uploading to hiding", rule.daysFromUploadingToHiding),
        field.number("daysFromHidingToDeleting", "Days from hiding to deleting", rule.daysFromHidingToDeleting),
        field.number("daysFromStartingToCancelingUnfinishedLargeFiles", "Days to cancel unfinished large files", rule.daysFromStartingToCancelingUnfinishedLargeFiles)),
    ],
    readRule: (value) => {
      const days = (name) => (value(name) === "" ? null : Number(value(name)));
      const rule = { fileNamePrefix: value("fileNamePrefix"), daysFromUploadingToHiding: days("daysFromUploadingToHiding"), daysFromHidingToDeleting: days("daysFromHidingToDeleting") };
      const cancel = days("daysFromStartingToCancelingUnfinishedLargeFiles");
      if (cancel !== null) rule.daysFromStartingToCancelingUnfinishedLargeFiles = cancel;
      return rule;
    },
  });
}

function randomSecret() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => alphabet[b % alphabet.length]).join("");
}

async function editNotifications(bucket) {
  let current, eventTypes;
  try {
    current = (await b2("b2_get_bucket_notification_rules", { bucketId: bucket.bucketId })).eventNotificationRules;
    ({ eventTypes } = await vocabulary());
  } catch (err) {
    toast(errorText(err), true);
    return;
  }
  rulesEditor(bucket, {
    what: "Event notification rules", idPrefix: "notification", rules: current,
    intro: "Each matching event is POSTed to the webhook as JSON ({\"events\": [...]}), signed with the secret when one is set.",
    ruleFields: (rule, n, field) => {
      const target = rule.targetConfiguration || {};
      const [secretLabel, secret] = field.text("hmacSha256SigningSecret", "Signing secret (HMAC-SHA256)", target.hmacSha256SigningSecret, "optional, 32 letters and digits");
      return [
        field.text("name", "Rule name (6–63 letters, digits, hyphens)", rule.name || `webhook-rule-${n}`),
        h("label", { class: "inline" }, h("input", { type: "checkbox", name: "isEnabled", checked: rule.isEnabled ?? true }), "Enabled"),
        field.text("objectNamePrefix", "File name prefix (empty: the whole bucket)", rule.objectNamePrefix),
        field.checks("eventType", "Event types", eventTypes, new Set(rule.eventTypes || [])),
        field.text("url", "Webhook URL", target.url, "https://example.com/hooks/b2"),
        secretLabel,
        h("div", { class: "bar" }, h("div", { class: "grow" }, secret), h("button", { type: "button", onclick: () => { secret.value = randomSecret(); } }, "Generate")),
        field.textarea("customHeaders", "Custom headers (Name: value, one per line)", (target.customHeaders || []).map((c) => `${c.name}: ${c.value}`).join("\n")),
        field.text("maxEventsPerBatch", "Events per request (1–50)", rule.maxEventsPerBatch ?? 1),
      ];
    },
    readRule: (value, box) => {
      const headers = value("customHeaders").split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
        const at = line.indexOf(":");
        return { name: line.slice(0, Math.max(at, 0)).trim() || line, value: at > 0 ? line.slice(at + 1).trim() : "" };
      });
      return {
        name: value("name").trim(),
        isEnabled: box.querySelector("[name=isEnabled]").checked,
        objectNamePrefix: value("objectNamePrefix"),
        eventTypes: [...box.querySelectorAll("[name=eventType]:checked")].map((c) => c.value),
        targetConfiguration: {
          targetType: "webhook",
          url: value("url").trim(),
          hmacSha256SigningSecret: value("hmacSha256SigningSecret").trim() || null,
          customHeaders: headers.length ? headers : null,
        },
        maxEventsPerBatch: Number(value("maxEventsPerBatch")) || 1,
      };
    },
    save: (rules) => b2("b2_set_bucket_notification_rules", { bucketId: bucket.bucketId, eventNotificationRules: rules }),
  });
}

async function deleteBucket(bucket) {
  const ok = await confirmAction("Delete bucket", `Delete the bucket "${bucket.bucketName}"? It must be empty; this cannot be undone.`);
  if (!ok) return;
  try {
    await b2("b2_delete_bucket", { accountId: state.session.accountId, bucketId: bucket.bucketId });
    toast(`Bucket ${bucket.bucketName} deleted`);
    route();
  } catch (err) {
    toast(err.code === "cannot_delete_non_empty_bucket" ? "The bucket still holds files; delete them first." : errorText(err), true);
  }
}


// ---------------------------------------------------------------- application keys

const ACCESS = {
  readWrite: ["listBuckets", "listFiles", "readFiles", "shareFiles", "writeFiles", "deleteFiles", "readBucketEncryption", "readBucketRetentions", "readFileRetentions", "writeFileRetentions", "readFileLegalHolds", "writeFileLegalHolds"],
  readOnly: ["listBuckets", "listFiles", "readFiles", "shareFiles", "readBucketEncryption", "readBucketRetentions", "readFileRetentions", "readFileLegalHolds"],
  writeOnly: ["listBuckets", "listFiles", "writeFiles", "readBucketEncryption"],
};

async function showKeys(main) {
  if (!can("listKeys")) {
    main.replaceChildren(h("h1", {}, "Application keys"), h("p", { class: "empty" }, "This key may not list application keys."));
    return;
  }
  const keys = [];
  let start = null;
  do {
    const page = await b2("b2_list_keys", { accountId: state.session.accountId, maxKeyCount: 1000, ...(start ? { startApplicationKeyId: start } : {}) });
    keys.push(...page.keys);
    start = page.nextApplicationKeyId;
  } while (start);
  const buckets = await listBuckets().catch(() => []);
  const bucketName = (id) => buckets.find((b) => b.bucketId === id)?.bucketName || id;
  const rows = keys.map((k) => {
    const ids = k.bucketIds || (k.bucketId ? [k.bucketId] : null);
    return h("tr", { dataset: { key: k.keyName } },
      h("td", { class: "name" }, k.keyName),
      h("td", { class: "mono" }, k.applicationKeyId),
      h("td", {}, ids ? ids.map(bucketName).join(", ") : "All"),
      h("td", { class: "hide-narrow" }, k.namePrefix || "—"),
      h("td", { class: "hide-narrow capabilities" }, k.capabilities.length > 6
        ? h("details", {}, h("summary", {}, `${k.capabilities.slice(0, 4).join(", ")} and ${k.capabilities.length - 4} more`),
          h("ul", {}, k.capabilities.map((c) => h("li", {}, c))))
        : k.capabilities.join(", ")),
      h("td", { class: "hide-narrow" }, k.expirationTimestamp ? formatDate(k.expirationTimestamp) : "Never"),
      h("td", {}, can("deleteKeys") && k.applicationKeyId !== state.session.applicationKeyId
        ? h("button", { type: "button", class: "link danger", onclick: () => deleteKey(k) }, "Delete") : ""));
  });
  main.replaceChildren(
    h("div", { class: "bar" }, h("h1", { class: "grow" }, "Application keys"),
      can("writeKeys") ? h("button", { type: "button", class: "primary", id: "create-key", onclick: () => createKey(buckets) }, "Add a new application key") : null),
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Application keys" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Key ID"), h("th", {}, "Buckets"), h("th", { class: "hide-narrow" }, "Name prefix"), h("th", { class: "hide-narrow" }, "Capabilities"), h("th", { class: "hide-narrow" }, "Expires"), h("th", {}, ""))),
      h("tbody", {}, rows))));
}

function createKey(buckets) {
  modal("Add application key", (close) => {
    const name = h("input", { type: "text", id: "key-name", required: true, autocomplete: "off" });
    const bucket = h("select", { id: "key-bucket" }, h("option", { value: "" }, "All buckets"), buckets.map((b) => h("option", { value: b.bucketId }, b.bucketName)));
    const access = h("select", { id: "key-access" }, h("option", { value: "readWrite" }, "Read and write"), h("option", { value: "readOnly" }, "Read only"), h("option", { value: "writeOnly" }, "Write only"));
    const listAll = h("input", { type: "checkbox", id: "key-list-all" });
    const prefix = h("input", { type: "text", id: "key-prefix", placeholder: "optional, e.g. photos/" });
    const days = h("input", { type: "number", id: "key-days", min: 0, max: 999, placeholder: "0" });
    const hours = h("input", { type: "number", id: "key-hours", min: 0, max: 23999, placeholder: "0" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "key-name" }, "Name of key"), name,
      h("label", { for: "key-bucket" }, "Allow access to bucket(s)"), bucket,
      h("label", { for: "key-access" }, "Type of access"), access,
      h("label", { class: "inline" }, listAll, "Allow list all bucket names (needed by some tools)"),
      h("label", { for: "key-prefix" }, "File name prefix"), prefix,
      h("p", { class: "muted" }, "Expires after (less than 1000 days; never, when both are empty):"),
      h("div", { class: "row" },
        h("div", {}, h("label", { for: "key-days" }, "Days"), days),
        h("div", {}, h("label", { for: "key-hours" }, "Hours"), hours)),
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Create key")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const capabilities = [...ACCESS[access.value]];
      if (listAll.checked) capabilities.push("listAllBucketNames");
      const params = { accountId: state.session.accountId, keyName: name.value.trim(), capabilities };
      if (bucket.value) params.bucketIds = [bucket.value];
      if (prefix.value) params.namePrefix = prefix.value;
      const seconds = Math.round((Number(days.value || 0) * 24 + Number(hours.value || 0)) * 3600);
      if (seconds > 0) params.validDurationInSeconds = seconds;
      if (prefix.value && !bucket.value) { error.textContent = "A file name prefix needs a bucket."; return; }
      const key = await attempt(error, () => b2("b2_create_key", params));
      if (key) { close(); showSecret(key, buckets); }
    });
    setTimeout(() => name.focus());
    return form;
  });
}

function showSecret(key, buckets) {
  const ids = key.bucketIds || (key.bucketId ? [key.bucketId] : null);
  const bucketNames = ids ? ids.map((id) => buckets.find((b) => b.bucketId === id)?.bucketName || id).join(", ") : "All buckets";
  modal("Application key created", (close) => h("div", {},
    h("p", {}, "Copy the key now: this is the only time it is shown."),
    h("div", { class: "secret" },
      h("dl", { class: "details" },
        h("dt", {}, "keyID"), h("dd", { class: "mono", id: "new-key-id" }, key.applicationKeyId),
        h("dt", {}, "keyName"), h("dd", {}, key.keyName),
        h("dt", {}, "applicationKey"), h("dd", { class: "mono", id: "new-key-secret" }, key.applicationKey))),
    // What the key may do, restated from the server's answer.
    h("dl", { class: "details", id: "new-key-scope" },
      h("dt", {}, "Buckets"), h("dd", { id: "new-key-buckets" }, bucketNames),
      h("dt", {}, "Name prefix"), h("dd", { id: "new-key-prefix" }, key.namePrefix || "any name"),
      h("dt", {}, "Capabilities"), h("dd", { id: "new-key-capabilities" }, key.capabilities.join(", ")),
      h("dt", {}, "Expires"), h("dd", { id: "new-key-expires" }, key.expirationTimestamp ? exactTime(key.expirationTimestamp) : "never")),
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: () => copyText(`${key.applicationKeyId}\n${key.applicationKey}`, "Key ID and key copied") }, "Copy ID and key"),
      h("button", { type: "button", class: "primary", onclick: () => { close(); route(); } }, "Done"))));
}

async function deleteKey(key) {
  const ok = await confirmAction("Delete application key", `Delete the key "${key.keyName}"? Anything using it stops working at once.`);
  if (!ok) return;
  try {
    await b2("b2_delete_key", { applicationKeyId: key.applicationKeyId });
    toast(`Key ${key.keyName} deleted`);
    route();
  } catch (err) {
    toast(errorText(err), true);
  }
}

start();
