// OrleansLocks dashboard: plain JavaScript over the public HTTP API, no dependencies.
// Cluster and lock lists are polled; the watched lock is live from GET /locks/{name}/events (Server-Sent Events,
// read with fetch so the optional X-Api-Key header can be sent; resumes with Last-Event-ID).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { watched: null, stream: null, lock: null, lastEventId: null, reload: null };

// API paths are relative to the page's parent (/dashboard/ -> /cluster), so the page works behind any path base.
const base = new URL("..", location.href);

function apiKey() { return localStorage.getItem("orleanslocks.apiKey") || ""; }

async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  if (apiKey()) headers.set("X-Api-Key", apiKey());
  const response = await fetch(new URL(path, base), { ...init, headers });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "data") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

const pill = (text, cls = text) => el("span", { class: `pill ${cls}` }, text);
const time = (iso) => iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
function since(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}
function remaining(iso) {
  const ms = new Date(iso) - Date.now();
  return ms <= 0 ? "due" : ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function setStatus(text, cls) { const s = $("status"); s.textContent = text; s.className = `pill ${cls}`; }

// ---- cluster ----
async function refreshCluster() {
  try {
    const { silos } = await (await api("cluster")).json();
    const body = $("silos");
    body.replaceChildren(...silos.map((s) => el("tr", {},
      el("td", {}, s.name), el("td", { class: "muted" }, s.address), el("td", {}, pill(s.status)),
      el("td", { class: "num" }, s.activationCount ?? "–"), el("td", { class: "muted" }, since(s.startedAt)))));
    $("silo-count").textContent = `${silos.filter((s) => s.status === "active").length} active`;
    setStatus("connected", "ok");
  } catch (e) {
    setStatus("offline", "bad");
  }
}

// ---- contended locks ----
async function refreshLocks() {
  try {
    const { items } = await (await api("locks?limit=1000")).json();
    items.sort((a, b) => b.waiters.length - a.waiters.length || b.holders.length - a.holders.length || a.name.localeCompare(b.name));
    const rows = items.slice(0, 15).map((l) => el("tr", {
        class: l.name === state.watched ? "selected" : "", data: { lock: l.name }, onclick: () => watch(l.name) },
      el("td", {}, el("code", {}, l.name)), el("td", {}, pill(l.mode)), el("td", { class: "num" }, l.holders.length),
      el("td", { class: "num" }, l.waiters.length), el("td", { class: "num" }, l.fencingCounter)));
    $("locks").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "no lock is held or queued"))]));
  } catch (e) { /* shown by the status pill */ }
}

// ---- one lock, live ----
function renderLock(lock) {
  state.lock = lock;
  $("lock-mode").replaceChildren(pill(lock.mode));
  $("lock-counter").textContent = lock.fencingCounter;
  $("holders").replaceChildren(...(lock.holders.length ? lock.holders.map((h) => el("tr", { data: { token: h.fencingToken } },
      el("td", {}, h.owner), el("td", {}, pill(h.mode)), el("td", { class: "num" }, h.fencingToken),
      el("td", { class: "muted" }, time(h.acquiredAt)), el("td", { class: "num expires", data: { at: h.expiresAt } }, remaining(h.expiresAt))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "free"))]));
  $("waiters").replaceChildren(...(lock.waiters.length ? lock.waiters.map((w) => el("tr", {},
      el("td", { class: "num" }, w.position), el("td", {}, w.owner), el("td", {}, pill(w.mode)), el("td", { class: "muted" }, since(w.enqueuedAt))))
    : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "empty"))]));
}

function addEvent(type, data) {
  const what = type === "reset" ? "state re-read"
    : [data.owner, data.mode, data.fencingToken != null ? `token ${data.fencingToken}` : null,
       data.position != null ? `position ${data.position}` : null, data.reason].filter(Boolean).join(" · ");
  const item = el("li", { class: "fresh", data: { type } }, el("span", { class: "time" }, time(data.at || new Date().toISOString())), pill(type), el("span", {}, what));
  const list = $("events");
  list.prepend(item);
  while (list.children.length > 200) list.lastChild.remove();
}

function scheduleReload(name) {
  if (state.reload) return;
  state.reload = setTimeout(async () => {
    state.reload = null;
    try { if (state.watched === name) renderLock(await (await api(`locks/${encodeURIComponent(name)}`)).json()); } catch (e) { /* next event retries */ }
  }, 60);
}

async function stream(name, abort) {
  while (!abort.signal.aborted && state.watched === name) {
    try {
      const headers = { Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const response = await api(`locks/${encodeURIComponent(name)}/events`, { headers, signal: abort.signal });
      $("stream-state").textContent = "live";
      $("stream-state").className = "pill ok small";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message = { event: "message", data: "", id: null };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") message.event = text;
            else if (field === "data") message.data += (message.data ? "\n" : "") + text;
            else if (field === "id") message.id = text;
          }
          if (!message.data) continue;
          if (message.id) state.lastEventId = message.id;
          const data = JSON.parse(message.data);
          if (message.event === "reset") { renderLock(data.state); addEvent("reset", {}); }
          else { addEvent(message.event, data); scheduleReload(name); }
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
    }
    $("stream-state").textContent = "reconnecting";
    $("stream-state").className = "pill warn small";
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function watch(name) {
  if (!name || name === state.watched) return;
  state.stream?.abort();
  state.watched = name;
  state.lastEventId = null;
  state.stream = new AbortController();
  $("lock-card").hidden = false;
  $("lock-name").textContent = name;
  $("events").replaceChildren();
  $("holders").replaceChildren();
  $("waiters").replaceChildren();
  history.replaceState(null, "", `#lock=${encodeURIComponent(name)}`);
  for (const row of $("locks").children) row.classList.toggle("selected", row.dataset.lock === name);
  stream(name, state.stream);
}

function tick() {
  for (const cell of document.querySelectorAll("td.expires")) cell.textContent = remaining(cell.dataset.at);
}

$("watch-form").addEventListener("submit", (e) => { e.preventDefault(); watch($("watch-name").value.trim()); });
$("api-key").value = apiKey();
$("api-key").addEventListener("change", (e) => { localStorage.setItem("orleanslocks.apiKey", e.target.value); refreshCluster(); refreshLocks(); });

refreshCluster(); refreshLocks();
setInterval(refreshCluster, 5000);
setInterval(refreshLocks, 3000);
setInterval(tick, 500);
const fromHash = new URLSearchParams(location.hash.slice(1)).get("lock");
if (fromHash) watch(fromHash);
