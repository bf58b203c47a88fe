// The Stowage console: sign-in, storage overview, buckets (settings, CORS, lifecycle), browsing with
// uploads, file details and sharing, application keys. Every action is a B2 Native API call made with
// the signed-in key, so the console shows and does exactly what that key may.

import { ApiError, b2, consoleFileUrl, consoleZipUrl, currentSession, encodeName, overview, searchNames, signIn, signOut, usageHistory, vocabulary } from "./api.js";
import { confirmAction, copyText, errorText, exactTime, formatBytes, formatDate, h, modal, toast } from "./ui.js";
import { Uploads, droppedFiles, pickedFiles } from "./upload.js";

const app = document.getElementById("app");
let session = null;
let uploads = null;
let onUploadDone = () => {};

const storage = () => session.apiInfo.storageApi;
const allowed = () => storage().allowed || {};
const can = (capability) => (allowed().capabilities || []).includes(capability);
/** Where links for others point: the server's public URL, or, when none was set (the server names a loopback
 * or unspecified address), the address this browser reached the console at. */
const publicBase = () => {
  const configured = storage().downloadUrl.replace(/\/$/, "");
  const host = new URL(configured).hostname;
  const unreachable = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::]"].includes(host) || host.startsWith("127.");
  return unreachable ? location.origin : configured;
};

/** A button for an action the key's capabilities may rule out: then shown disabled, the reason on hover. */
function actionButton(capability, text, onclick, attrs = {}) {
  if (!capability || can(capability)) return h("button", { type: "button", ...attrs, onclick }, text);
  const reason = `This key lacks the ${capability} capability`;
  return h("button", { type: "button", ...attrs, class: `${attrs.class || ""} ruled-out`.trim(), "aria-disabled": "true", title: reason }, text);
}

// ---------------------------------------------------------------- start, sign-in, shell, routing

async function start() {
  try {
    session = await currentSession();
  } catch (err) {
    app.replaceChildren(h("p", { class: "error" }, `Could not reach the server: ${errorText(err)}`));
    return;
  }
  if (!session) return showSignIn();
  uploads = new Uploads(storage(), (items) => renderUploads(items), (item) => onUploadDone(item));
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
      h("span", {}, `Key ${session.applicationKeyId}`),
      h("button", { type: "button", id: "sign-out", onclick: async () => { await signOut(); session = null; location.hash = ""; showSignIn(); } }, "Sign out")));
  const main = h("main", { id: "main", tabindex: "-1" });
  // Uploads stay in view on every page while they run.
  const uploadsPanel = h("section", { class: "uploads", id: "uploads", "aria-label": "Uploads" });
  app.replaceChildren(h("div", { class: "shell" }, nav, h("div", { class: "content" }, uploadsPanel, main)));
  renderUploads(uploads.items);
  route();
}

window.addEventListener("hashchange", () => { if (session) route(); });

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

function browseHash(bucketName, prefix = "") {
  return `#/browse/${encodeURIComponent(bucketName)}/${prefix.split("/").map(encodeURIComponent).join("/")}`;
}

/** The buckets this key may see (a key restricted to buckets must name them when listing). */
async function listBuckets() {
  const restricted = allowed().buckets;
  if (restricted && restricted.length) {
    const found = [];
    for (const b of restricted) {
      const answer = await b2("b2_list_buckets", { accountId: session.accountId, bucketId: b.id });
      found.push(...answer.buckets);
    }
    return found;
  }
  return (await b2("b2_list_buckets", { accountId: session.accountId })).buckets;
}

// ---------------------------------------------------------------- overview

/** A small line of stored bytes per day, with the figures in words for screen readers and on hover. */
function usageChart(days) {
  if (!days.length) return h("span", { class: "muted" }, "—");
  const width = 120;
  const height = 28;
  const top = Math.max(...days.map((d) => d.bytes), 1);
  const first = days[0].date;
  const span = Math.max(days[days.length - 1].date - first, 86_400_000);
  const points = days.map((d) => `${((d.date - first) / span) * (width - 4) + 2},${height - 2 - (d.bytes / top) * (height - 4)}`).join(" ");
  const last = days[days.length - 1];
  const label = `${formatBytes(days[0].bytes)} on ${new Date(days[0].date).toLocaleDateString()}, ${formatBytes(last.bytes)} (${last.files} files) on ${new Date(last.date).toLocaleDateString()}`;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Stored bytes by day: ${label}`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", days.length === 1 ? `2,${height - 2 - (days[0].bytes / top) * (height - 4)} ${width - 2},${height - 2 - (days[0].bytes / top) * (height - 4)}` : points);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#1f4fd1");
  line.setAttribute("stroke-width", "2");
  svg.append(line);
  return h("span", { class: "usage-chart", title: label }, svg);
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
    h("td", { class: "hide-narrow usage" }, histories[i] ? usageChart(histories[i]) : h("span", { class: "muted" }, "—")),
    h("td", { class: "hide-narrow" }, formatDate(b.lastUpload))));
  main.replaceChildren(
    h("h1", {}, "Storage overview"),
    h("div", { class: "cards" },
      card("Files", String(data.files), "total-files"),
      card("Storage used", formatBytes(data.bytes), "total-bytes"),
      card("Buckets", String(data.buckets.length), "bucket-count"),
      card("Last upload", formatDate(data.lastUpload), "last-upload", true)),
    data.buckets.length
      ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Usage by bucket" },
        h("thead", {}, h("tr", {}, h("th", {}, "Bucket"), h("th", {}, "Type"), h("th", {}, "Files"), h("th", {}, "Size"),
          h("th", { class: "hide-narrow" }, "Last 30 days"), h("th", { class: "hide-narrow" }, "Last upload"))),
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
      const params = { accountId: session.accountId, bucketName: name.value.trim(), bucketType: type.value, fileLockEnabled: lock.checked };
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
        accountId: session.accountId, bucketId: bucket.bucketId, bucketType: type.value, bucketInfo,
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
  save = (list) => b2("b2_update_bucket", { accountId: session.accountId, bucketId: bucket.bucketId, [field]: list }) }) {
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
    await b2("b2_delete_bucket", { accountId: session.accountId, bucketId: bucket.bucketId });
    toast(`Bucket ${bucket.bucketName} deleted`);
    route();
  } catch (err) {
    toast(err.code === "cannot_delete_non_empty_bucket" ? "The bucket still holds files; delete them first." : errorText(err), true);
  }
}

// ---------------------------------------------------------------- browsing, uploads, file details

const browseState = { bucket: null, prefix: "", pages: [null], page: 0, search: "", versions: false, view: "table", sort: { key: "name", dir: 1 }, selected: new Map() };

/** What a file is, by its content type or extension, for the type column. */
function fileType(f) {
  if (f.action === "folder") return "Folder";
  const ext = f.fileName.includes(".") ? f.fileName.split(".").pop().toUpperCase() : "";
  const type = (f.contentType || "").split(";")[0];
  if (type && type !== "application/octet-stream" && type !== "b2/x-auto") return ext ? `${ext} (${type})` : type;
  return ext || "File";
}

/** A page of entries in the chosen order, folders first (as file managers list them). */
function ordered(files) {
  const { key, dir } = browseState.sort;
  const value = (f) => (key === "size" ? f.contentLength || 0 : key === "date" ? f.uploadTimestamp || 0 : key === "type" ? fileType(f) : f.fileName);
  return [...files].sort((a, b) => {
    const folders = (b.action === "folder") - (a.action === "folder");
    if (folders) return folders;
    const [x, y] = [value(a), value(b)];
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
}

/** A column header that sorts the page by `key`, announcing its order. */
function sortHeader(label, key, attrs = {}) {
  const { key: current, dir } = browseState.sort;
  const sort = current === key ? (dir > 0 ? "ascending" : "descending") : "none";
  return h("th", { ...attrs, "aria-sort": sort },
    h("button", { type: "button", class: "sort", onclick: () => {
      browseState.sort = { key, dir: current === key ? -dir : 1 };
      refreshListing();
    } }, label, sort === "none" ? "" : sort === "ascending" ? " ▲" : " ▼"));
}

async function showBrowse(main, bucketName, prefix) {
  const buckets = await listBuckets();
  const bucket = buckets.find((b) => b.bucketName === bucketName);
  if (!bucket) throw new Error(`No bucket named "${bucketName}" is visible to this key.`);
  if (browseState.bucket?.bucketName !== bucketName || browseState.prefix !== prefix) {
    Object.assign(browseState, { pages: [null], page: 0, search: "" });
  }
  // A key limited to a name prefix may only list under it: start there.
  const limit = allowed().namePrefix || "";
  if (limit && !prefix.startsWith(limit)) prefix = limit.includes("/") ? limit.slice(0, limit.lastIndexOf("/") + 1) : "";
  browseState.bucket = bucket;
  browseState.prefix = prefix;
  browseState.limit = limit;

  const crumbs = h("nav", { class: "crumbs", "aria-label": "Folders" },
    h("a", { href: "#/buckets" }, "Buckets"), " / ", h("a", { href: browseHash(bucketName) }, bucketName));
  let path = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    path += `${part}/`;
    crumbs.append(" / ", h("a", { href: browseHash(bucketName, path) }, part));
  }
  const search = h("input", { type: "search", id: "search", placeholder: "Find files by any part of their name, in the whole bucket", "aria-label": "Find files by name in the whole bucket", value: browseState.search });
  search.addEventListener("input", debounce(() => { browseState.search = search.value; browseState.pages = [null]; browseState.page = 0; refreshListing(); }, 250));
  const versions = h("input", { type: "checkbox", id: "show-versions", checked: browseState.versions });
  versions.addEventListener("change", () => { browseState.versions = versions.checked; browseState.pages = [null]; browseState.page = 0; refreshListing(); });
  const viewButton = h("button", { type: "button", id: "toggle-view", "aria-pressed": browseState.view === "grid" ? "true" : "false" }, browseState.view === "grid" ? "Table view" : "Grid view");
  viewButton.addEventListener("click", () => { browseState.view = browseState.view === "grid" ? "table" : "grid"; route(); });

  const input = h("input", { type: "file", id: "file-input", multiple: true });
  const folderInput = h("input", { type: "file", id: "folder-input", webkitdirectory: true, multiple: true });
  // Both APIs take uploads: B2 upload URLs, or S3 multipart uploads the server presigns for this key.
  const via = h("label", { class: "inline via" }, "through ", h("select", { id: "upload-via", "aria-label": "Upload through" },
    h("option", { value: "b2", selected: uploads.via === "b2" }, "B2 upload URLs"),
    h("option", { value: "s3", selected: uploads.via === "s3" }, "S3 multipart (presigned)")));
  via.querySelector("select").addEventListener("change", (e) => { uploads.via = e.target.value; });
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    h("p", {}, "Drop files or folders here or ",
      h("button", { type: "button", class: "link", onclick: () => input.click() }, "click to browse"), " · ",
      h("button", { type: "button", class: "link", onclick: () => folderInput.click() }, "upload a folder")),
    h("p", { class: "muted" }, `Uploading to ${bucketName}/${prefix}`, " · ", via), input, folderInput);
  const canWrite = can("writeFiles");
  const queue = (entries) => uploads.add(bucket, prefix, entries);
  input.addEventListener("change", () => { queue(pickedFiles(input.files)); input.value = ""; });
  folderInput.addEventListener("change", () => { queue(pickedFiles(folderInput.files)); folderInput.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => { e.preventDefault(); zone.classList.remove("over"); queue(await droppedFiles(e.dataTransfer)); });

  main.replaceChildren(
    crumbs,
    h("div", { class: "bar" }, h("div", { class: "grow" }, search), h("label", { class: "inline" }, versions, "Show hidden files and versions"), viewButton,
      actionButton("writeFiles", "New folder", () => newFolder(bucket, prefix), { id: "new-folder" })),
    canWrite ? zone : h("p", { class: "muted" }, "This key cannot upload here."),
    h("div", { class: "bar selection", id: "selection", hidden: true }),
    h("div", { id: "listing" }, h("p", { class: "loading" }, "Loading…")),
    h("div", { class: "bar", id: "pager" }));
  renderUploads(uploads.items);
  onUploadDone = (item) => { if (item.bucketId === bucket.bucketId) refreshListing(); };
  await refreshListing();
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** Search results: a stretch of the server's scan of the bucket per page, full names shown. */
async function refreshSearch(listing, pager) {
  const { bucket, search, pages, page } = browseState;
  let answer;
  try {
    answer = await searchNames(bucket.bucketName, search, pages[page]);
  } catch (err) {
    listing.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(err)));
    return;
  }
  if (browseState.search !== search) return;
  const status = h("p", { class: "muted", id: "search-status" }, answer.next
    ? `${answer.files.length} found among ${answer.scanned} names; the next page searches further.`
    : `${answer.files.length} found; the whole bucket was searched.`);
  showPage(listing, pager, answer.next,
    status, answer.files.length ? tableView(answer.files) : h("p", { class: "empty" }, `No more names contain "${search}".`));
}

/** A page of the listing or of search results: the selection starts empty, the pager knows what follows. */
function showPage(listing, pager, next, ...content) {
  const { page } = browseState;
  browseState.pages[page + 1] = next;
  browseState.selected = new Map();
  listing.replaceChildren(...content);
  renderSelection();
  pager.replaceChildren(
    h("button", { type: "button", id: "prev-page", disabled: page === 0, onclick: () => { browseState.page--; refreshListing(); } }, "Previous page"),
    h("span", { class: "muted" }, `Page ${page + 1}`),
    h("button", { type: "button", id: "next-page", disabled: !next, onclick: () => { browseState.page++; refreshListing(); } }, "Next page"));
}

async function refreshListing() {
  const listing = document.getElementById("listing");
  const pager = document.getElementById("pager");
  if (!listing) return;
  if (browseState.search) return refreshSearch(listing, pager);
  const { bucket, prefix, versions, pages, page } = browseState;
  const start = pages[page];
  let listPrefix = prefix;
  if (browseState.limit && !listPrefix.startsWith(browseState.limit) && browseState.limit.startsWith(listPrefix)) listPrefix = browseState.limit;
  const params = { bucketId: bucket.bucketId, prefix: listPrefix, delimiter: "/", maxFileCount: 100 };
  if (start) Object.assign(params, start);
  let answer;
  try {
    answer = await b2(versions ? "b2_list_file_versions" : "b2_list_file_names", params);
  } catch (err) {
    listing.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(err)));
    return;
  }
  const next = answer.nextFileName ? { startFileName: answer.nextFileName, ...(answer.nextFileId ? { startFileId: answer.nextFileId } : {}) } : null;
  // B2's console keeps an empty folder as a zero-byte ".bzEmpty" file in it: the folder shows, the file not.
  const files = answer.files.filter((f) => !f.fileName.endsWith("/.bzEmpty") && f.fileName !== ".bzEmpty");
  showPage(listing, pager, next, !files.length ? h("p", { class: "empty" }, "This folder is empty.")
    : browseState.view === "grid" ? gridView(files) : tableView(files));
}

function shortName(file) {
  // Search results come from anywhere in the bucket: their full names.
  if (browseState.search) return file.fileName;
  return file.fileName.slice(browseState.prefix.length) || file.fileName;
}

/** A checkbox selecting an entry of the page for the bulk actions. */
function selectBox(f) {
  const box = h("input", { type: "checkbox", class: "select", "aria-label": `Select ${shortName(f)}`, checked: browseState.selected.has(f.fileName) });
  box.addEventListener("change", () => {
    if (box.checked) browseState.selected.set(f.fileName, f); else browseState.selected.delete(f.fileName);
    renderSelection();
  });
  return box;
}

/** The bar of bulk actions on the selected files and folders. */
function renderSelection() {
  const bar = document.getElementById("selection");
  if (!bar) return;
  const chosen = [...(browseState.selected?.values() || [])];
  bar.hidden = chosen.length === 0;
  for (const box of document.querySelectorAll("#listing input.select")) {
    box.checked = browseState.selected.has(box.closest("[data-name]")?.dataset.name);
  }
  if (!chosen.length) { bar.replaceChildren(); return; }
  const names = chosen.map((f) => f.fileName);
  bar.replaceChildren(
    h("strong", { id: "selected-count" }, `${chosen.length} selected`),
    can("readFiles")
      ? h("a", { class: "button", id: "download-selected", href: consoleZipUrl(browseState.bucket.bucketName, browseState.prefix, names) }, "Download (zip)")
      : actionButton("readFiles", "Download (zip)", null),
    actionButton("deleteFiles", "Delete", () => deleteEntries(chosen), { class: "danger", id: "delete-selected" }),
    h("button", { type: "button", onclick: () => { browseState.selected.clear(); renderSelection(); } }, "Clear selection"));
}

/** Every version under a folder, as {fileName, fileId}, with the number of distinct names. */
async function versionsUnder(prefix) {
  const versions = [];
  let start = {};
  for (;;) {
    const page = await b2("b2_list_file_versions", { bucketId: browseState.bucket.bucketId, prefix, maxFileCount: 1000, ...start });
    versions.push(...page.files.filter((v) => v.action !== "start").map((v) => ({ fileName: v.fileName, fileId: v.fileId })));
    if (!page.nextFileName) break;
    start = { startFileName: page.nextFileName, startFileId: page.nextFileId };
  }
  return versions;
}

/** Deletes files (the listed version) and folders (every version under them), after one confirmation
 * that counts what goes. */
async function deleteEntries(entries) {
  const doomed = [];
  try {
    for (const f of entries) {
      if (f.action === "folder") doomed.push(...await versionsUnder(f.fileName));
      else doomed.push({ fileName: f.fileName, fileId: f.fileId });
    }
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
  const files = new Set(doomed.map((v) => v.fileName)).size;
  const folders = entries.filter((f) => f.action === "folder").length;
  const what = `${files} file${files === 1 ? "" : "s"} (${doomed.length} version${doomed.length === 1 ? "" : "s"})`;
  const where = folders ? ` in ${folders} folder${folders === 1 ? "" : "s"}` : "";
  const ok = await confirmAction("Delete", `Delete ${what}${where}? This cannot be undone.`, `Delete ${doomed.length}`);
  if (!ok) return false;
  let done = 0;
  try {
    for (const v of doomed) {
      await b2("b2_delete_file_version", v);
      done++;
    }
    toast(`Deleted ${done} version${done === 1 ? "" : "s"}`);
  } catch (err) {
    toast(`Deleted ${done} of ${doomed.length}, then: ${errorText(err)}`, true);
  }
  browseState.selected.clear();
  refreshListing();
  return true;
}

/** B2's console makes an empty folder as a zero-byte ".bzEmpty" file inside it; so does this one. */
function newFolder(bucket, prefix) {
  modal("New folder", (close) => {
    const name = h("input", { type: "text", id: "folder-name", required: true, autocomplete: "off" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "folder-name" }, `Folder name (inside ${bucket.bucketName}/${prefix})`), name, error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Create folder")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const folder = name.value.trim().replace(/^\/+|\/+$/g, "");
      if (!folder) { error.textContent = "Name the folder."; return; }
      uploads.add(bucket, prefix, [{ file: new File([], ".bzEmpty", { type: "application/octet-stream" }), path: `${folder}/.bzEmpty` }]);
      close();
    });
    setTimeout(() => name.focus());
    return form;
  });
}

/** Arrow keys move between the rows of a listing, staying in the same column. */
function rowNavigation(table) {
  table.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const cell = e.target.closest("td");
    const row = cell?.parentElement;
    if (!row) return;
    const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
    const target = next?.children[cell.cellIndex]?.querySelector("a, button:not([aria-disabled]), input");
    if (target) { e.preventDefault(); target.focus(); }
  });
  return table;
}

function tableView(files) {
  const rows = ordered(files).map((f) => {
    if (f.action === "folder") {
      return h("tr", { class: "folder", dataset: { name: f.fileName } },
        h("td", { class: "select" }, selectBox(f)),
        h("td", { class: "name" }, h("span", { class: "folder-icon", "aria-hidden": "true" }), h("a", { href: browseHash(browseState.bucket.bucketName, f.fileName) }, shortName(f))),
        h("td", { class: "hide-narrow" }, "Folder"), h("td", {}, "—"), h("td", { class: "hide-narrow" }, "—"),
        h("td", { class: "actions" },
          can("readFiles")
            ? h("a", { class: "link", href: consoleZipUrl(browseState.bucket.bucketName, browseState.prefix, [f.fileName]) }, "Download")
            : actionButton("readFiles", "Download", null, { class: "link" }),
          actionButton("deleteFiles", "Delete", () => deleteEntries([f]), { class: "link danger" })));
    }
    const hidden = f.action === "hide";
    return h("tr", { class: hidden ? "hidden-file" : "", dataset: { name: f.fileName } },
      h("td", { class: "select" }, hidden ? "" : selectBox(f)),
      h("td", { class: "name" }, h("button", { type: "button", class: "link", onclick: () => showDetails(f) }, shortName(f)), hidden ? " (hidden)" : ""),
      h("td", { class: "hide-narrow type" }, hidden ? "hide marker" : fileType(f)),
      h("td", { class: "size" }, hidden ? "—" : formatBytes(f.contentLength)),
      h("td", { class: "hide-narrow date", title: exactTime(f.uploadTimestamp) }, formatDate(f.uploadTimestamp)),
      h("td", { class: "actions" }, hidden ? "" : fileActions(f)));
  });
  const all = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select every entry on this page" });
  all.addEventListener("change", () => {
    for (const f of files.filter((x) => x.action !== "hide")) {
      if (all.checked) browseState.selected.set(f.fileName, f); else browseState.selected.delete(f.fileName);
    }
    renderSelection();
  });
  return h("div", { class: "table-wrap" }, rowNavigation(h("table", { "aria-label": "Files" },
    h("thead", {}, h("tr", {}, h("th", { class: "select" }, all), sortHeader("Name", "name"), sortHeader("Type", "type", { class: "hide-narrow" }), sortHeader("Size", "size"),
      sortHeader("Uploaded", "date", { class: "hide-narrow" }), h("th", {}, "Actions"))),
    h("tbody", {}, rows))));
}

function isImage(f) {
  return (f.contentType || "").startsWith("image/") || /\.(png|jpe?g|gif|webp|svg|avif|bmp)$/i.test(f.fileName);
}

function gridView(files) {
  return h("div", { class: "grid", id: "grid" }, ordered(files).map((f) => {
    if (f.action === "folder") {
      return h("a", { class: "tile", href: browseHash(browseState.bucket.bucketName, f.fileName) }, h("div", { class: "thumb" }, h("span", { class: "folder-icon big", "aria-hidden": "true" })), h("div", { class: "caption" }, shortName(f)));
    }
    const ext = (f.fileName.split(".").pop() || "").slice(0, 5).toUpperCase();
    let thumb = ext;
    if (isImage(f) && f.action !== "hide") {
      // The server's small JPEG; vector images are small as they are.
      const vector = /\.svg$/i.test(f.fileName) || (f.contentType || "").startsWith("image/svg");
      const src = vector ? consoleFileUrl(browseState.bucket.bucketName, f.fileName, { fileId: f.fileId }) : `/_console/api/thumbnail/${encodeURIComponent(f.fileId)}`;
      thumb = h("img", { src, alt: shortName(f), loading: "lazy" });
      // A format the server cannot shrink shows as it is when small, else as its type.
      thumb.addEventListener("error", () => {
        if (!vector && f.contentLength <= 1000 * 1000 && !thumb.dataset.original) {
          thumb.dataset.original = "1";
          thumb.src = consoleFileUrl(browseState.bucket.bucketName, f.fileName, { fileId: f.fileId });
        } else {
          thumb.replaceWith(ext);
        }
      });
    }
    return h("div", { class: "tile", dataset: { name: f.fileName } },
      h("div", { class: "thumb" }, thumb),
      h("div", { class: "caption" }, h("button", { type: "button", class: "link", onclick: () => showDetails(f) }, shortName(f))),
      h("div", { class: "meta muted" }, f.action === "hide" ? "hidden" : `${formatBytes(f.contentLength)} · ${formatDate(f.uploadTimestamp)}`),
      h("div", { class: "actions" }, h("button", { type: "button", class: "link", onclick: () => copyText(fileUrl(f), "URL copied") }, "Copy URL")));
  }));
}

function fileUrl(f) {
  return `${publicBase()}/file/${encodeURIComponent(browseState.bucket.bucketName)}/${encodeName(f.fileName)}`;
}

function downloadLink(f, attrs) {
  if (!can("readFiles")) return actionButton("readFiles", "Download", null, attrs);
  return h("a", { ...attrs, href: consoleFileUrl(browseState.bucket.bucketName, f.fileName, { fileId: f.fileId, attachment: true }), download: shortName(f).split("/").pop() }, "Download");
}

/** Sharing a private file needs shareFiles; a public bucket's link needs nothing. */
const shareCapability = () => (browseState.bucket.bucketType === "allPublic" ? null : "shareFiles");

function fileActions(f) {
  return [
    downloadLink(f, { class: "link" }),
    actionButton(shareCapability(), "Share", () => shareLink(f), { class: "link" }),
    actionButton("deleteFiles", "Delete", () => deleteVersion(f), { class: "link danger" }),
  ];
}

/** Public buckets: the friendly URL. Private ones: a download authorization with a chosen lifetime. Either way
 * the dialog shows the link (and when it stops working) before anything is copied. */
function shareLink(f) {
  const isPublic = browseState.bucket.bucketType === "allPublic";
  return modal("Share link", (close) => {
    const link = h("input", { type: "text", id: "share-link", readonly: true, value: isPublic ? fileUrl(f) : "" });
    const expiry = h("p", { id: "share-expiry", class: "muted" }, isPublic ? "The bucket is public: this link works for anyone, with no expiry." : "");
    const error = h("p", { class: "error", role: "alert" });
    const copy = h("button", { type: "button", class: "primary", id: "copy-share-link", disabled: !isPublic, onclick: () => copyText(link.value, "Share link copied") }, "Copy link");
    const linkRow = [h("label", { for: "share-link" }, "Link"), link, expiry];
    if (isPublic) {
      return h("div", {}, h("p", {}, `Anyone with the link can download ${f.fileName}.`), linkRow, error,
        h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Close"), copy));
    }
    const duration = h("select", { id: "share-duration" },
      [[3600, "1 hour"], [86400, "1 day"], [604800, "7 days"]].map(([s, label]) => h("option", { value: s }, label)));
    const make = async () => {
      error.textContent = "";
      const seconds = Number(duration.value);
      try {
        const auth = await b2("b2_get_download_authorization", { bucketId: browseState.bucket.bucketId, fileNamePrefix: f.fileName, validDurationInSeconds: seconds });
        link.value = `${fileUrl(f)}?Authorization=${encodeURIComponent(auth.authorizationToken)}`;
        const until = Date.now() + seconds * 1000;
        expiry.textContent = `Works for anyone until ${exactTime(until)}.`;
        document.body.dataset.lastShareLink = link.value;
        copy.disabled = false;
        link.select();
      } catch (err) {
        error.textContent = errorText(err);
      }
    };
    return h("div", {},
      h("p", {}, `Anyone with the link can download ${f.fileName} until it expires.`),
      h("label", { for: "share-duration" }, "Link valid for"), duration,
      h("div", { class: "buttons" }, h("button", { type: "button", id: "make-share-link", onclick: make }, "Make link")),
      linkRow, error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Close"), copy));
  });
}

async function deleteVersion(f) {
  const ok = await confirmAction("Delete file version", `Delete this version of "${f.fileName}"? Older versions, if any, stay.`);
  if (!ok) return false;
  try {
    await b2("b2_delete_file_version", { fileName: f.fileName, fileId: f.fileId });
    toast("Version deleted");
    refreshListing();
    return true;
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
}

async function deleteAllVersions(f) {
  const ok = await confirmAction("Delete all versions", `Delete every version of "${f.fileName}"? This cannot be undone.`, "Delete all");
  if (!ok) return false;
  try {
    let start = { startFileName: f.fileName };
    for (;;) {
      const page = await b2("b2_list_file_versions", { bucketId: browseState.bucket.bucketId, prefix: f.fileName, maxFileCount: 1000, ...start });
      for (const v of page.files.filter((v) => v.fileName === f.fileName)) {
        await b2("b2_delete_file_version", { fileName: v.fileName, fileId: v.fileId });
      }
      if (!page.nextFileName || page.nextFileName !== f.fileName) break;
      start = { startFileName: page.nextFileName, startFileId: page.nextFileId };
    }
    toast("All versions deleted");
    refreshListing();
    return true;
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
}

async function hideFile(f) {
  try {
    await b2("b2_hide_file", { bucketId: browseState.bucket.bucketId, fileName: f.fileName });
    toast(`${f.fileName} hidden`);
    refreshListing();
    return true;
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
}

async function showDetails(listed) {
  let f = listed;
  if (listed.action !== "hide") {
    try { f = await b2("b2_get_file_info", { fileId: listed.fileId }); } catch (err) { toast(errorText(err), true); return; }
  }
  const bucketName = browseState.bucket.bucketName;
  const s3Url = `${storage().s3ApiUrl.replace(/\/$/, "")}/${encodeURIComponent(bucketName)}/${encodeName(f.fileName)}`;
  const nativeUrl = `${publicBase()}/b2api/v1/b2_download_file_by_id?fileId=${encodeURIComponent(f.fileId)}`;
  const sha1 = f.contentSha1 === "none" ? (f.fileInfo?.large_file_sha1 || "none (large file)") : f.contentSha1;
  const row = (label, value, id) => [h("dt", {}, label), h("dd", { id: id ? `detail-${id}` : undefined, class: id === "sha1" || id === "fguid" ? "mono" : undefined }, value ?? "—")];
  modal("File details", (close) => {
    const action = (fn) => async () => { if (await fn(f)) close(); };
    return h("div", {},
      f.action === "hide" || !can("readFiles") ? null : preview(f, bucketName),
      h("dl", { class: "details" },
        row("Name", f.fileName, "name"),
        row("Bucket", bucketName, "bucket"),
        row("Bucket type", browseState.bucket.bucketType === "allPublic" ? "public (anyone can download)" : "private", "bucket-type"),
        row("Friendly URL", fileUrl(f), "friendly-url"),
        row("S3 URL", s3Url, "s3-url"),
        row("Native URL", nativeUrl, "native-url"),
        row("Kind", f.action === "hide" ? "hide marker" : f.contentType, "kind"),
        row("Size", f.action === "hide" ? "—" : `${formatBytes(f.contentLength)} (${f.contentLength} bytes)`, "size"),
        row("Uploaded", formatDate(f.uploadTimestamp), "uploaded"),
        row("Fguid", f.fileId, "fguid"),
        row("SHA-1", sha1, "sha1"),
        row("Encryption", f.serverSideEncryption?.mode || "none", "encryption"),
        f.fileRetention?.value?.mode ? row("Retention", `${f.fileRetention.value.mode} until ${formatDate(f.fileRetention.value.retainUntilTimestamp)}`, "retention") : null,
        f.legalHold?.value ? row("Legal hold", f.legalHold.value, "legal-hold") : null,
        Object.entries(f.fileInfo || {}).map(([k, v]) => row(k, k === "src_last_modified_millis" && /^\d+$/.test(v) ? `${v} (${formatDate(Number(v))})` : v))),
      h("div", { class: "buttons", style: "flex-wrap: wrap" },
        f.action === "hide" ? null : [
          downloadLink(f, { class: "button", id: "download-file" }),
          h("button", { type: "button", onclick: () => copyText(fileUrl(f), "URL copied") }, "Copy URL"),
          actionButton(shareCapability(), "Share link", () => shareLink(f)),
          actionButton("writeFiles", "Hide", action(hideFile), { id: "hide-file" }),
        ],
        actionButton("deleteFiles", "Delete version", action(deleteVersion), { class: "danger", id: "delete-version" }),
        actionButton("deleteFiles", "Delete all versions", action(deleteAllVersions), { class: "danger", id: "delete-all-versions" }),
        h("button", { type: "button", onclick: () => close() }, "Close")));
  });
}

/** A look at the file in the details panel: images, the start of a text, audio and video players. */
function preview(f, bucketName) {
  const src = consoleFileUrl(bucketName, f.fileName, { fileId: f.fileId });
  const type = f.contentType || "";
  if (isImage(f)) {
    const large = f.contentLength > 8 * 1000 * 1000 && !/svg/.test(type);
    return h("div", { class: "preview", id: "preview" }, h("img", { src: large ? `/_console/api/thumbnail/${encodeURIComponent(f.fileId)}` : src, alt: `Preview of ${f.fileName}` }));
  }
  if (type.startsWith("video/")) return h("div", { class: "preview", id: "preview" }, h("video", { src, controls: true, preload: "metadata", "aria-label": `Video ${f.fileName}` }));
  if (type.startsWith("audio/")) return h("div", { class: "preview", id: "preview" }, h("audio", { src, controls: true, preload: "metadata", "aria-label": `Audio ${f.fileName}` }));
  const textual = type.startsWith("text/") || /json|xml|javascript|yaml|csv/.test(type) || /\.(txt|md|log|csv|json|ya?ml|toml|ini|xml|js|ts|rs|py|sh)$/i.test(f.fileName);
  if (!textual) return null;
  const pre = h("pre", { class: "preview text", id: "preview", tabindex: "0", "aria-label": `Start of ${f.fileName}` }, "Loading…");
  // The first 16 KB is enough to see what a text is.
  fetch(src, { headers: { Range: "bytes=0-16383" } })
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
    .then((text) => { pre.textContent = f.contentLength > 16384 ? `${text}\n…` : text; }, () => { pre.textContent = "(could not be read)"; });
  return pre;
}

/** Seconds as "1 h 5 min", "3 min 20 s" or "12 s". */
function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

function renderUploads(items) {
  const section = document.getElementById("uploads");
  if (!section) return;
  if (!items.length) { section.replaceChildren(); return; }
  const rows = items.map((item) => {
    const percent = item.total ? Math.round((100 * item.sent) / item.total) : (item.state === "done" ? 100 : 0);
    const left = item.speed > 0 ? (item.total - item.sent) / item.speed : null;
    const progress = `${formatBytes(item.sent)} of ${formatBytes(item.total)} · ${formatBytes(item.speed)}/s${left === null ? "" : ` · ${formatDuration(left)} left`}`;
    const state = { queued: "Waiting", uploading: progress, paused: `Paused · ${formatBytes(item.sent)} of ${formatBytes(item.total)}`,
      done: `Done · ${formatBytes(item.total)}`, failed: `Failed: ${item.error}`, canceled: "Canceled" }[item.state];
    return h("div", { class: `upload-row ${item.state}`, dataset: { upload: item.name, state: item.state } },
      h("div", { class: "name" }, `${item.bucketName}/${item.name}`),
      h("progress", { max: 100, value: percent, "aria-label": `Upload progress of ${item.name}` }),
      h("div", { class: "state" }, state),
      h("div", {},
        uploads.canPause(item) ? h("button", { type: "button", class: "link", onclick: () => uploads.pause(item) }, "Pause") : null,
        item.state === "paused" ? h("button", { type: "button", class: "link", onclick: () => uploads.resume(item) }, "Resume") : null,
        ["uploading", "queued", "paused"].includes(item.state) ? h("button", { type: "button", class: "link", onclick: () => uploads.cancel(item) }, "Cancel") : null,
        item.state === "failed" || item.state === "canceled" ? h("button", { type: "button", class: "link", onclick: () => uploads.retry(item) }, "Retry") : null));
  });
  section.replaceChildren(
    h("div", { class: "bar" }, h("strong", { class: "grow" }, "Uploads"), h("button", { type: "button", class: "link", onclick: () => uploads.clearFinished() }, "Clear finished")),
    ...rows);
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
    const page = await b2("b2_list_keys", { accountId: session.accountId, maxKeyCount: 1000, ...(start ? { startApplicationKeyId: start } : {}) });
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
      h("td", {}, can("deleteKeys") && k.applicationKeyId !== session.applicationKeyId
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
      const params = { accountId: session.accountId, keyName: name.value.trim(), capabilities };
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
