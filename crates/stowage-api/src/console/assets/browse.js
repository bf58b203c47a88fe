// The console's file browser: a bucket's files by folder (or every version), search, table and grid views,
// selection with bulk delete and zip download, uploads by drop or picker with their progress panel, and each
// file's details, preview, sharing and deletion. Every action is a B2 call made with the signed-in key.

import { b2, consoleFileUrl, consoleZipUrl, encodeName, presignS3, searchNames } from "./api.js";
import { actionButton, allowed, browseHash, can, listBuckets, publicBase, state, storage } from "./session.js";
import { chooseAction, confirmAction, copyText, errorText, exactTime, formatBytes, formatDate, h, modal, toast } from "./ui.js";
import { copyVersion, deleteOldestFirst, planTransfer, runTransfer, versionsOfName } from "./fileops.js";
import { droppedFiles, pickedFiles } from "./upload.js";

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

export async function showBrowse(main, bucketName, prefix) {
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
  viewButton.addEventListener("click", () => { browseState.view = browseState.view === "grid" ? "table" : "grid"; state.rerender(); });

  const input = h("input", { type: "file", id: "file-input", multiple: true });
  const folderInput = h("input", { type: "file", id: "folder-input", webkitdirectory: true, multiple: true });
  // Both APIs take uploads: B2 upload URLs, or S3 multipart uploads the server presigns for this key.
  const via = h("label", { class: "inline via" }, "through ", h("select", { id: "upload-via", "aria-label": "Upload through" },
    h("option", { value: "b2", selected: state.uploads.via === "b2" }, "B2 upload URLs"),
    h("option", { value: "s3", selected: state.uploads.via === "s3" }, "S3 multipart (presigned)")));
  via.querySelector("select").addEventListener("change", (e) => { state.uploads.via = e.target.value; });
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    h("p", {}, "Drop files or folders here or ",
      h("button", { type: "button", class: "link", onclick: () => input.click() }, "click to browse"), " · ",
      h("button", { type: "button", class: "link", onclick: () => folderInput.click() }, "upload a folder")),
    h("p", { class: "muted" }, `Uploading to ${bucketName}/${prefix}`, " · ", via), input, folderInput);
  const canWrite = can("writeFiles");
  const queue = (entries) => state.uploads.add(bucket, prefix, entries);
  input.addEventListener("change", () => { queue(pickedFiles(input.files)); input.value = ""; });
  folderInput.addEventListener("change", () => { queue(pickedFiles(folderInput.files)); folderInput.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => { e.preventDefault(); zone.classList.remove("over"); queue(await droppedFiles(e.dataTransfer)); });

  main.replaceChildren(
    crumbs,
    h("div", { class: "bar" }, h("div", { class: "grow" }, search), h("label", { class: "inline" }, versions, "Show hidden files and versions"), viewButton,
      actionButton("writeFiles", "Upload files", () => input.click(), { class: "primary", id: "upload-files" }),
      actionButton("writeFiles", "New folder", () => newFolder(bucket, prefix), { id: "new-folder" })),
    canWrite ? zone : h("p", { class: "muted" }, "This key cannot upload here."),
    h("div", { class: "bar selection", id: "selection", hidden: true }),
    h("div", { id: "listing" }, h("p", { class: "loading" }, "Loading…")),
    h("div", { class: "bar", id: "pager" }));
  renderUploads(state.uploads.items);
  state.onUploadDone = (item) => { if (item.bucketId === bucket.bucketId) refreshListing(); };
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

/** For a search result: a link to the folder that holds it. */
function folderLink(f) {
  const folder = f.fileName.slice(0, f.fileName.replace(/\/$/, "").lastIndexOf("/") + 1);
  return h("a", { class: "folder-link", href: browseHash(browseState.bucket.bucketName, folder) }, `in ${folder || `${browseState.bucket.bucketName}/`}`);
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
      ? zipLink(names, { class: "button", id: "download-selected" }, "Download (zip)")
      : actionButton("readFiles", "Download (zip)", null),
    actionButton("writeFiles", "Copy", () => transferDialog(chosen, false), { id: "copy-selected" }),
    actionButton(can("writeFiles") ? "deleteFiles" : "writeFiles", "Move", () => transferDialog(chosen, true), { id: "move-selected" }),
    actionButton("deleteFiles", "Delete", () => deleteEntries(chosen), { class: "danger", id: "delete-selected" }),
    h("button", { type: "button", onclick: () => { browseState.selected.clear(); renderSelection(); } }, "Clear selection"));
}

/** The folder every name lies in (a folder's own name counts as lying in its parent), so a selection made
 * anywhere — search results from other folders included — zips with paths relative to it. */
function commonFolder(names) {
  const parents = names.map((n) => n.slice(0, n.replace(/\/$/, "").lastIndexOf("/") + 1));
  let common = parents[0] || "";
  for (const p of parents) while (!p.startsWith(common)) common = common.slice(0, common.slice(0, -1).lastIndexOf("/") + 1);
  return common;
}

/** A link that downloads `names` as one zip. The server is asked first (HEAD), so a refusal becomes a
 * message here instead of an error page in place of the console. */
function zipLink(names, attrs, text) {
  const href = consoleZipUrl(browseState.bucket.bucketName, commonFolder(names), names);
  return h("a", { ...attrs, href, onclick: async (e) => {
    e.preventDefault();
    const answer = await fetch(href, { method: "HEAD" }).catch((err) => ({ ok: false, statusText: err.message }));
    if (!answer.ok) {
      // A refusal's reason is in its (small) body, which a HEAD answer leaves out.
      const refusal = answer.status ? await fetch(href).then((r) => r.json()).catch(() => null) : null;
      toast(`The zip could not be made: ${refusal?.message || answer.statusText || `HTTP ${answer.status}`}`, true);
      return;
    }
    const go = h("a", { href, download: "" });
    document.body.append(go);
    go.click();
    go.remove();
  } }, text);
}

/** Every version under a folder (unfinished large files left out), newest first within a name. */
async function versionsUnder(prefix) {
  const versions = [];
  let start = {};
  for (;;) {
    const page = await b2("b2_list_file_versions", { bucketId: browseState.bucket.bucketId, prefix, maxFileCount: 1000, ...start });
    versions.push(...page.files.filter((v) => v.action !== "start"));
    if (!page.nextFileName) return versions;
    start = { startFileName: page.nextFileName, startFileId: page.nextFileId };
  }
}

/** Deletes what is selected. Where versions are shown, a file entry is that one version. In the normal view
 * a file is its name: every version of it goes (or, if the person chooses, the name is hidden), so a delete
 * never brings an older version back into view; a folder is every version under it. One confirmation counts
 * the files, versions and bytes. Each name's versions go oldest first, and a name whose delete fails keeps
 * its newer versions, so a failure part-way never publishes an older one either. */
async function deleteEntries(entries, { wholeNames = !browseState.versions } = {}) {
  const bucketId = browseState.bucket.bucketId;
  const doomed = [];
  try {
    for (const f of entries) {
      if (f.action === "folder") doomed.push(...await versionsUnder(f.fileName));
      else if (!wholeNames) doomed.push(f);
      else doomed.push(...await versionsOfName(bucketId, f.fileName));
    }
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
  const names = [...new Set(doomed.map((v) => v.fileName))];
  const folders = entries.filter((f) => f.action === "folder").length;
  const bytes = doomed.reduce((sum, v) => sum + (v.action === "upload" ? v.contentLength || 0 : 0), 0);
  const what = `${names.length} file${names.length === 1 ? "" : "s"} (${doomed.length} version${doomed.length === 1 ? "" : "s"}, ${formatBytes(bytes)})`;
  const where = folders ? ` in ${folders} folder${folders === 1 ? "" : "s"}` : "";
  const every = wholeNames ? " Every version goes;" : "";
  const choices = [{ id: "confirm", label: `Delete ${doomed.length}`, primary: true }];
  if (wholeNames && !browseState.versions && !folders && can("writeFiles")) choices.push({ id: "hide-instead", label: "Hide instead" });
  const chosen = await chooseAction("Delete", `Delete ${what}${where}?${every} this cannot be undone.`, choices);
  if (!chosen) return false;
  if (chosen === "hide-instead") {
    for (const f of entries) await hideFile(f, false);
    browseState.selected.clear();
    refreshListing();
    return true;
  }
  let deleted = 0;
  const failed = [];
  for (const name of names) {
    const outcome = await deleteOldestFirst(doomed.filter((d) => d.fileName === name));
    deleted += outcome.done;
    if (outcome.failed) failed.push(`${name}: ${errorText(outcome.failed)}`);
  }
  if (failed.length) toast(`Deleted ${deleted} of ${doomed.length} versions; kept the rest of ${failed.join("; ")}`, true);
  else toast(`Deleted ${deleted} version${deleted === 1 ? "" : "s"}`);
  browseState.selected.clear();
  refreshListing();
  return true;
}

/** Copy or move files and folders, in this bucket or into another, as server-side copies: one file can be
 * renamed to any name; several go into a folder, with their paths from the folder they share. A move deletes
 * every version of each old name once its copy exists. The dialog counts the files as they go. */
async function transferDialog(entries, move) {
  const buckets = await listBuckets().catch(() => [browseState.bucket]);
  const source = browseState.bucket;
  const single = entries.length === 1 && entries[0].action !== "folder";
  const base = commonFolder(entries.map((e) => e.fileName));
  const title = move ? (single ? "Rename or move" : "Move") : "Copy";
  return modal(title, (close) => {
    const bucketSelect = h("select", { id: "transfer-bucket" },
      buckets.map((b) => h("option", { value: b.bucketId, selected: b.bucketId === source.bucketId }, b.bucketName)));
    const destination = h("input", { type: "text", id: "transfer-destination", autocomplete: "off", value: single ? entries[0].fileName : base });
    const status = h("p", { id: "transfer-status", class: "muted", role: "status" });
    const error = h("p", { class: "error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary", id: "transfer-go" }, title === "Rename or move" ? "Move" : title);
    const what = single ? `"${entries[0].fileName}"` : `${entries.length} selected entr${entries.length === 1 ? "y" : "ies"}`;
    const form = h("form", {},
      h("p", {}, `${move ? "Move" : "Copy"} ${what}${move ? "; every version of each old name is deleted once its copy exists" : ""}.`),
      h("label", { for: "transfer-bucket" }, "Into bucket"), bucketSelect,
      h("label", { for: "transfer-destination" }, single ? "New name" : "Into folder (empty: the bucket's top level)"), destination,
      status, error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close(false) }, "Cancel"), submit));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      let target = destination.value.trim().replace(/^\/+/, "");
      if (!single && target && !target.endsWith("/")) target += "/";
      if (single && (!target || target.endsWith("/"))) { error.textContent = "Name the file (a folder name ends the path)."; return; }
      submit.disabled = true;
      error.textContent = "";
      try {
        const plan = single ? [{ source: entries[0], destName: target }] : await planTransfer(source.bucketId, entries, base, target);
        status.textContent = `${plan.length} file${plan.length === 1 ? "" : "s"} to ${move ? "move" : "copy"}…`;
        const failures = await runTransfer(plan, bucketSelect.value, source.bucketId, move,
          (done, total) => { status.textContent = `${move ? "Moved" : "Copied"} ${done} of ${total}`; });
        if (failures.length) {
          error.textContent = failures.join("; ");
          submit.disabled = false;
          refreshListing();
          return;
        }
        toast(`${move ? "Moved" : "Copied"} ${plan.length} file${plan.length === 1 ? "" : "s"}`);
        browseState.selected.clear();
        close(true);
        refreshListing();
      } catch (err) {
        error.textContent = errorText(err);
        submit.disabled = false;
      }
    });
    setTimeout(() => destination.focus());
    return form;
  });
}

/** Makes an older version the current one: a server-side copy of it on top of the name. */
async function makeCurrent(f) {
  try {
    await copyVersion(f, browseState.bucket.bucketId, f.fileName);
    toast(`That version of ${f.fileName} is current again`);
    refreshListing();
    return true;
  } catch (err) {
    toast(errorText(err), true);
    return false;
  }
}

/** New content type and file info: B2 keeps metadata per version, so this is a copy of the file onto its own
 * name with the new metadata (the previous version stays, as any upload leaves it). */
function editMetadata(f) {
  return modal("Edit metadata", (close) => {
    const contentType = h("input", { type: "text", id: "edit-content-type", value: f.contentType, autocomplete: "off" });
    const info = h("textarea", { id: "edit-file-info", rows: 5 }, Object.entries(f.fileInfo || {}).map(([k, v]) => `${k}=${v}`).join("\n"));
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "edit-content-type" }, "Content type"), contentType,
      h("label", { for: "edit-file-info" }, "File info (name=value, one per line)"), info, error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button", { type: "submit", class: "primary", id: "save-metadata" }, "Save as a new version")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const fileInfo = {};
      for (const line of info.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const at = line.indexOf("=");
        if (at < 1) { error.textContent = `"${line}" is not name=value`; return; }
        fileInfo[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      try {
        await copyVersion(f, browseState.bucket.bucketId, f.fileName, { replace: { contentType: contentType.value.trim() || "b2/x-auto", fileInfo } });
        toast("Metadata saved");
        close(true);
        refreshListing();
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    return form;
  });
}

/** An object's S3 tags (the B2 API has no call for them): read and written through S3 requests the server
 * presigns for this key. */
async function editTags(f) {
  const query = browseState.versions ? { tagging: "", versionId: f.fileId } : { tagging: "" };
  const s3 = async (method, body) => {
    const url = await presignS3(method, browseState.bucket.bucketName, f.fileName, query);
    const answer = await fetch(url, { method, body });
    const text = await answer.text();
    if (!answer.ok) throw new Error((text.match(/<Message>([^<]*)/) || [])[1] || `HTTP ${answer.status}`);
    return text;
  };
  let tags;
  try {
    const xml = new DOMParser().parseFromString(await s3("GET"), "application/xml");
    tags = [...xml.getElementsByTagName("Tag")].map((t) => [t.getElementsByTagName("Key")[0]?.textContent || "", t.getElementsByTagName("Value")[0]?.textContent || ""]);
  } catch (err) {
    toast(`Tags could not be read: ${err.message}`, true);
    return false;
  }
  return modal("S3 tags", (close) => {
    const text = h("textarea", { id: "edit-tags", rows: 5 }, tags.map(([k, v]) => `${k}=${v}`).join("\n"));
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "edit-tags" }, "Tags (name=value, one per line; at most 10)"), text, error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button", { type: "submit", class: "primary", id: "save-tags" }, "Save tags")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const escape = (v) => v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      const pairs = [];
      for (const line of text.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const at = line.indexOf("=");
        if (at < 1) { error.textContent = `"${line}" is not name=value`; return; }
        pairs.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
      }
      const body = `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${escape(k)}</Key><Value>${escape(v)}</Value></Tag>`).join("")}</TagSet></Tagging>`;
      try {
        await s3("PUT", body);
        toast("Tags saved");
        close(true);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return form;
  });
}

/** Retention (governance or compliance, until a date) and legal hold of one version, in a bucket with file lock. */
function editLock(f) {
  const current = f.fileRetention?.value || {};
  return modal("Retention and legal hold", (close) => {
    const mode = h("select", { id: "retention-mode" }, ["none", "governance", "compliance"].map((m) =>
      h("option", { value: m, selected: (current.mode || "none") === m }, m)));
    const until = h("input", { type: "date", id: "retention-until",
      value: current.retainUntilTimestamp ? new Date(current.retainUntilTimestamp).toISOString().slice(0, 10) : "" });
    const bypass = h("input", { type: "checkbox", id: "retention-bypass" });
    const hold = h("input", { type: "checkbox", id: "legal-hold", checked: f.legalHold?.value === "on" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {},
      h("label", { for: "retention-mode" }, "Retention mode"), mode,
      h("label", { for: "retention-until" }, "Retain until (end of that day, UTC)"), until,
      h("label", { class: "inline" }, bypass, "Bypass governance (to shorten or remove governance retention)"),
      h("label", { class: "inline" }, hold, "Legal hold"), error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button", { type: "submit", class: "primary", id: "save-lock" }, "Save")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const wanted = mode.value === "none" ? { mode: null } : { mode: mode.value, retainUntilTimestamp: Date.parse(`${until.value}T23:59:59Z`) };
        if (wanted.mode && !until.value) { error.textContent = "Choose the date it is retained until."; return; }
        if (wanted.mode !== (current.mode || null) || wanted.retainUntilTimestamp !== current.retainUntilTimestamp) {
          await b2("b2_update_file_retention", { fileName: f.fileName, fileId: f.fileId, fileRetention: wanted, bypassGovernance: bypass.checked });
        }
        if (hold.checked !== (f.legalHold?.value === "on")) {
          await b2("b2_update_file_legal_hold", { fileName: f.fileName, fileId: f.fileId, legalHold: hold.checked ? "on" : "off" });
        }
        toast("Retention and legal hold saved");
        close(true);
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
    return form;
  });
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
      state.uploads.add(bucket, prefix, [{ file: new File([], ".bzEmpty", { type: "application/octet-stream" }), path: `${folder}/.bzEmpty` }]);
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
            ? zipLink([f.fileName], { class: "link" }, "Download")
            : actionButton("readFiles", "Download", null, { class: "link" }),
          actionButton("deleteFiles", "Delete", () => deleteEntries([f]), { class: "link danger" })));
    }
    const hidden = f.action === "hide";
    return h("tr", { class: hidden ? "hidden-file" : "", dataset: { name: f.fileName } },
      h("td", { class: "select" }, hidden ? "" : selectBox(f)),
      h("td", { class: "name" }, h("button", { type: "button", class: "link", onclick: () => showDetails(f) }, shortName(f)), hidden ? " (hidden)" : "",
        browseState.search ? folderLink(f) : null),
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
    actionButton("deleteFiles", "Delete", () => (browseState.versions ? deleteVersion(f) : deleteEntries([f])), { class: "link danger" }),
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

async function hideFile(f, refresh = true) {
  try {
    await b2("b2_hide_file", { bucketId: browseState.bucket.bucketId, fileName: f.fileName });
    toast(`${f.fileName} hidden`);
    if (refresh) refreshListing();
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
          actionButton(can("writeFiles") ? "deleteFiles" : "writeFiles", "Rename or move", action((g) => transferDialog([g], true)), { id: "rename-file" }),
          actionButton("writeFiles", "Copy", action((g) => transferDialog([g], false)), { id: "copy-file" }),
          actionButton("writeFiles", "Edit metadata", action(editMetadata), { id: "edit-metadata" }),
          actionButton("writeFiles", "S3 tags", () => editTags(f), { id: "edit-tags-button" }),
          browseState.versions ? actionButton("writeFiles", "Make this version current", action(makeCurrent), { id: "make-current" }) : null,
          browseState.bucket.fileLockConfiguration?.value?.isFileLockEnabled
            ? actionButton("writeFileRetentions", "Retention and legal hold", action(editLock), { id: "edit-lock" }) : null,
        ],
        // Deleting one version is offered where versions are shown: in the normal view it would bring the
        // previous version back under the name.
        browseState.versions ? actionButton("deleteFiles", "Delete version", action(deleteVersion), { class: "danger", id: "delete-version" }) : null,
        actionButton("deleteFiles", browseState.versions ? "Delete all versions" : "Delete", action((g) => deleteEntries([g], { wholeNames: true })),
          { class: "danger", id: "delete-all-versions" }),
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

export function renderUploads(items) {
  const section = document.getElementById("uploads");
  if (!section) return;
  if (!items.length) { section.replaceChildren(); return; }
  const rows = items.map((item) => {
    const percent = item.total ? Math.round((100 * item.sent) / item.total) : (item.state === "done" ? 100 : 0);
    const left = item.speed > 0 ? (item.total - item.sent) / item.speed : null;
    const progress = `${formatBytes(item.sent)} of ${formatBytes(item.total)} · ${formatBytes(item.speed)}/s${left === null ? "" : ` · ${formatDuration(left)} left`}`;
    const status = { queued: "Waiting", uploading: item.hashing ? `Computing SHA-1 of ${formatBytes(item.total)}` : progress, paused: `Paused · ${formatBytes(item.sent)} of ${formatBytes(item.total)}`,
      done: `Done · ${formatBytes(item.total)}`, failed: `Failed: ${item.error}`, canceled: "Canceled" }[item.state];
    return h("div", { class: `upload-row ${item.state}`, dataset: { upload: item.name, state: item.state } },
      h("div", { class: "name" }, `${item.bucketName}/${item.name}`),
      h("progress", { max: 100, value: percent, "aria-label": `Upload progress of ${item.name}` }),
      h("div", { class: "state" }, status),
      h("div", {},
        state.uploads.canPause(item) ? h("button", { type: "button", class: "link", onclick: () => state.uploads.pause(item) }, "Pause") : null,
        item.state === "paused" ? h("button", { type: "button", class: "link", onclick: () => state.uploads.resume(item) }, "Resume") : null,
        ["uploading", "queued", "paused"].includes(item.state) ? h("button", { type: "button", class: "link", onclick: () => state.uploads.cancel(item) }, "Cancel") : null,
        item.state === "failed" || item.state === "canceled" ? h("button", { type: "button", class: "link", onclick: () => state.uploads.retry(item) }, "Retry") : null));
  });
  section.replaceChildren(
    h("div", { class: "bar" }, h("strong", { class: "grow" }, "Uploads"), h("button", { type: "button", class: "link", onclick: () => state.uploads.clearFinished() }, "Clear finished")),
    ...rows);
}
