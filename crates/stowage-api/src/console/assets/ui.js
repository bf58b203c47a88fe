// Small DOM helpers: element building, formatting, toasts, dialogs, clipboard.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

// Formatters are made once: building one per call costs more than the formatting (100 rows a page).
const shortDate = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const longDate = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });

export function formatDate(ms) {
  if (!ms) return "—";
  return shortDate.format(new Date(ms));
}

/** A time to the second with its time zone, for tooltips and expiries. */
export function exactTime(ms) {
  return longDate.format(new Date(ms));
}

export function toast(message, bad = false) {
  const el = h("div", { class: bad ? "toast bad" : "toast", role: bad ? "alert" : "status" }, message);
  const shelf = document.getElementById("toasts");
  shelf.append(el);
  while (shelf.children.length > 3) shelf.firstChild.remove();
  setTimeout(() => el.remove(), bad ? 7000 : 3500);
}

/** Opens a modal dialog; `build(close)` returns its content. Resolves with what `close` was given. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-label": title });
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); close(undefined); });
    dialog.append(h("h2", {}, title), build(close));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function confirmAction(title, message, action = "Delete") {
  return chooseAction(title, message, [{ id: "confirm", label: action, primary: true }]).then((chosen) => chosen === "confirm");
}

/** A question with several answers besides Cancel: resolves to the chosen answer's id, or false. */
export function chooseAction(title, message, choices) {
  return modal(title, (close) => h("div", {},
    h("p", {}, message),
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
      ...choices.map((c) => h("button", { type: "button", class: c.primary ? "primary" : "", id: c.id, onclick: () => close(c.id) }, c.label)))))
    .then((chosen) => chosen || false);
}

export async function copyText(text, what = "Copied") {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard`);
  } catch {
    // Clipboard access needs a secure context; show the text so it can be copied by hand.
    modal("Copy", (close) => h("div", {}, h("textarea", { rows: 4, readonly: true }, text),
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => close() }, "Close"))));
  }
}

export function errorText(err) {
  return err?.message || String(err);
}
