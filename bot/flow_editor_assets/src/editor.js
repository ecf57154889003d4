// The flow editor page (/flows/{id}): CodeMirror 6 with the real validator's messages at their
// lines, autocomplete from /api/flows/{id}/completions, the Mermaid diagram (click a step to jump
// to its line), the simulator (chat, event log, slots) and save/publish. Everything goes through
// /api/flows with the session cookie and the X-CSRF-Token header.
//
// The page runs under the staff web's strict Content-Security-Policy (no inline script or
// style): esbuild bundles this file (`make editor-assets` → dist/editor.js), CodeMirror lives
// in a shadow root so its styles go to a constructed stylesheet (not a <style> tag), and the
// Mermaid diagram's <style> and style attributes are moved into the CSS object model.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";
import { linter, lintGutter, forceLinting } from "@codemirror/lint";

const flow = JSON.parse(document.getElementById("flow-data").textContent);
const T = JSON.parse(document.getElementById("texts").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const api = `/api/flows/${flow.id}`;
let baseVersion = flow.version;
let completions = { steps: [], slots: [], actions: [], policies: [], flows: [], slot_types: [] };
let diagramNodes = {};
let lastPath = [];

async function call(method, url, body) {
  const r = await fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* an empty answer */ }
  return { status: r.status, ok: r.ok, data };
}

function status(text, kind = "ok") {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = kind;
}

const fmt = (s, v) => s.replace("{v}", v).replace("{n}", v);

// ── the editor ───────────────────────────────────────────────────────────────────────────

function lineFrom(doc, line, column) {
  const n = Math.min(Math.max(1, line), doc.lines);
  const l = doc.line(n);
  const from = Math.min(l.from + Math.max(0, column - 1), l.to);
  return { from, to: from < l.to ? l.to : from };
}

const checker = linter(async (view) => {
  const text = view.state.doc.toString();
  const r = await call("POST", `${api}/check?lang=${flow.lang}`, { yaml: text });
  if (!r.ok) return [];
  showProblems(r.data.problems);
  refreshSide(text);
  return r.data.problems.map((p) => {
    const { from, to } = lineFrom(view.state.doc, p.line, p.column);
    return { from, to, severity: p.severity === "warning" ? "warning" : "error", message: p.message, source: p.source };
  });
}, { delay: 400 });

function keyBefore(line) {
  const m = /(?:^|[\s{,-])([A-Za-z_]+)\s*:\s*[\w.]*$/.exec(line);
  return m ? m[1] : "";
}

function complete(context) {
  const word = context.matchBefore(/[\w.]*/);
  const lineText = context.state.doc.lineAt(context.pos).text.slice(0, context.pos - context.state.doc.lineAt(context.pos).from);
  let options = [];
  if (/\{\{\s*[\w.]*$/.test(lineText)) {
    options = completions.slots.map((s) => ({ label: s, type: "variable" }))
      .concat(["result.", "person.locale", "locale"].map((s) => ({ label: s, type: "keyword" })));
  } else {
    const key = keyBefore(lineText);
    if (["goto", "next", "on_fail", "else"].includes(key)) options = completions.steps.map((s) => ({ label: s, type: "function", detail: T.step }));
    else if (key === "slot") options = completions.slots.map((s) => ({ label: s, type: "variable" }));
    else if (key === "action") options = completions.actions.map((a) => ({ label: a.name, type: "method", detail: Object.keys(a.args).join(", "), info: a.doc }));
    else if (key === "call") options = completions.flows.map((s) => ({ label: s, type: "class" }));
    else if (key === "type") options = completions.slot_types.map((s) => ({ label: s, type: "type" }));
    else if (key === "policy" || key === "policy_id") options = completions.policies.map((s) => ({ label: s, type: "constant" }));
    else if (key === "if" || key === "validate") options = completions.slots.map((s) => ({ label: s, type: "variable" }));
    else if (/^\s*-?\s*\w*$/.test(lineText)) options = (completions.step_kinds || []).concat(["id", "if", "next"]).map((s) => ({ label: s + ": ", type: "keyword" }));
  }
  if (!options.length || (word.from === word.to && !context.explicit && !/:\s$|\{\{\s*$/.test(lineText))) return null;
  return { from: word.from, options, validFor: /^[\w.]*$/ };
}

// CodeMirror mounts its styles on its root; in a shadow root that is a constructed stylesheet
// (adoptedStyleSheets), which the CSP allows, where on the document it would be a <style> tag.
const editorHost = document.getElementById("editor");
const editorRoot = editorHost.attachShadow({ mode: "open" });
const editorParent = document.createElement("div");
editorRoot.append(editorParent);
const pageTheme = EditorView.theme({
  "&": { maxHeight: "65vh", fontSize: "14px", backgroundColor: "#fff" },
  ".cm-scroller": { overflow: "auto" },
});

const view = new EditorView({
  parent: editorParent,
  root: editorRoot,
  state: EditorState.create({
    doc: flow.yaml,
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), drawSelection(), history(),
      indentOnInput(), bracketMatching(), syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      yaml(), lintGutter(), checker, autocompletion({ override: [complete] }),
      keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
      EditorView.lineWrapping, pageTheme,
      EditorState.readOnly.of(!flow.can_edit),
    ],
  }),
});
window.flowEditor = view; // the browser test types through it

function jumpTo(line) {
  const l = view.state.doc.line(Math.min(Math.max(1, line), view.state.doc.lines));
  view.dispatch({ selection: { anchor: l.from, head: l.to }, effects: EditorView.scrollIntoView(l.from, { y: "center" }) });
  view.focus();
}

function showProblems(problems) {
  const ul = document.getElementById("problems");
  ul.replaceChildren();
  document.getElementById("problem-count").textContent = problems.length ? `(${problems.length})` : "";
  if (!problems.length) {
    const li = document.createElement("li");
    li.className = "info";
    li.textContent = T.no_problems;
    ul.append(li);
    return;
  }
  for (const p of problems) {
    const li = document.createElement("li");
    li.className = p.severity;
    li.dataset.line = p.line;
    li.textContent = `${fmt(T.line, p.line)}:${p.column} ${p.message}`;
    li.addEventListener("click", () => jumpTo(p.line));
    ul.append(li);
  }
}

// ── completions and the diagram follow the text ──────────────────────────────────────────

let sideTimer = null;
let renderCount = 0;
function refreshSide(text) {
  clearTimeout(sideTimer);
  sideTimer = setTimeout(async () => {
    const [c, d] = await Promise.all([call("POST", `${api}/completions`, { yaml: text }), call("POST", `${api}/diagram`, { yaml: text })]);
    if (c.ok) { completions = c.data; fillSteps(); }
    if (d.ok) await drawDiagram(d.data);
  }, 150);
}

async function drawDiagram(data) {
  diagramNodes = data.nodes;
  const box = document.getElementById("diagram");
  const answer = await drawInFrame(data.mermaid);
  if (!answer.svg) return; // a text Mermaid cannot draw yet: keep the last diagram
  box.replaceChildren(...underPolicy(answer));
  box.querySelectorAll("g.node").forEach((g) => {
    const m = /(?:^|-)(s\d+)(?:-|$)/.exec(g.id);
    const node = m && diagramNodes[m[1]];
    if (!node) return;
    g.dataset.step = node.step;
    g.addEventListener("click", () => jumpTo(node.line));
  });
  markPath(lastPath);
}

// Mermaid draws in a same-origin frame (/flows/diagram-frame, see diagram-frame.js): it lays
// out its labels with inline styles, which this page's policy refuses. The frame answers with
// the SVG text.
const frame = document.createElement("iframe");
frame.className = "diagram-frame";
frame.title = "diagram";
frame.setAttribute("aria-hidden", "true");
frame.tabIndex = -1;
const frameReady = new Promise((resolve) => {
  window.addEventListener("message", (event) => {
    if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return;
    if (event.data?.ready) resolve();
    else if (typeof event.data?.id === "number") pending.get(event.data.id)?.(event.data);
  });
});
const pending = new Map();
frame.src = "/flows/diagram-frame";
document.body.append(frame);

async function drawInFrame(text) {
  await frameReady;
  const id = ++renderCount;
  const answer = await new Promise((resolve) => {
    pending.set(id, resolve);
    frame.contentWindow.postMessage({ id, text }, window.location.origin);
  });
  pending.delete(id);
  return answer;
}

// The frame hands the SVG over without <style> or style attributes (the CSP would refuse them):
// its CSS goes into a constructed stylesheet and each data-style into the element's CSSOM
// style, both allowed.
const diagramSheet = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, diagramSheet];

function underPolicy(answer) {
  diagramSheet.replaceSync(answer.css || "");
  const parsed = new DOMParser().parseFromString(`<body>${answer.svg}</body>`, "text/html");
  const nodes = [...parsed.body.childNodes].map((n) => document.adoptNode(n));
  for (const n of nodes) {
    if (n.nodeType !== Node.ELEMENT_NODE) continue;
    for (const el of [n, ...n.querySelectorAll("[data-style]")]) {
      if (!el.hasAttribute("data-style")) continue;
      el.style.cssText = el.getAttribute("data-style");
      el.removeAttribute("data-style");
    }
  }
  return nodes;
}

function markPath(path) {
  lastPath = path;
  document.querySelectorAll("#diagram g.node").forEach((g) => g.classList.toggle("visited", path.includes(g.dataset.step)));
}


// ── tabs ─────────────────────────────────────────────────────────────────────────────────

document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("on", x === b));
  document.querySelectorAll(".tab").forEach((t) => { t.hidden = t.id !== `tab-${b.dataset.tab}`; });
  if (b.dataset.tab === "usage") loadUsage();
}));

async function loadUsage() {
  const r = await call("GET", `${api}/usage`);
  const body = document.getElementById("usage");
  body.replaceChildren();
  for (const s of r.data.steps || []) {
    const tr = document.createElement("tr");
    for (const [v, cls] of [[s.step, ""], [s.reached ?? "–", ""], [s.stopped, s.stopped ? "stop" : ""]]) {
      const td = document.createElement("td");
      td.textContent = v;
      if (cls) td.className = cls;
      tr.append(td);
    }
    tr.addEventListener("click", () => jumpTo(s.line));
    body.append(tr);
  }
}

// ── save and publish ─────────────────────────────────────────────────────────────────────

async function save() {
  const conflict = document.getElementById("conflict");
  conflict.hidden = true;
  const r = await call("PUT", api, { yaml: view.state.doc.toString(), base_version: baseVersion });
  if (r.status === 409) {
    status(`${T.conflict}: ${r.data.error}`, "error");
    conflict.textContent = r.data.diff;
    conflict.hidden = false;
    return null;
  }
  if (!r.ok) {
    status(r.data.error + (r.data.errors ? "\n" + r.data.errors.join("\n") : ""), "error");
    return null;
  }
  baseVersion = r.data.version;
  document.getElementById("base-version").textContent = `v${baseVersion}`;
  status(fmt(T.saved, baseVersion));
  return r.data;
}

document.getElementById("save")?.addEventListener("click", save);
document.getElementById("publish")?.addEventListener("click", async () => {
  if (!window.confirm(T.confirm_publish)) return;
  const saved = await save();
  if (!saved) return;
  const r = await call("POST", `${api}/publish`, { version: saved.version });
  if (!r.ok) { status(r.data.error, "error"); return; }
  document.getElementById("published-version").textContent = `v${r.data.published_version}`;
  status(fmt(T.published_ok, r.data.published_version));
});

// ── the simulator ────────────────────────────────────────────────────────────────────────

let simState = null;
let simSender = "";

function fillSteps() {
  const sel = document.getElementById("sim-step");
  if (!sel) return;
  const keep = sel.value;
  sel.replaceChildren(...[""].concat(completions.steps).map((s) => {
    const o = document.createElement("option");
    o.value = s;
    o.textContent = s || "—";
    return o;
  }));
  sel.value = completions.steps.includes(keep) ? keep : "";
}

function parseSlots(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Za-z_]\w*)\s*[:=]\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2];
    try { v = JSON.parse(v); } catch (e) { /* plain text */ }
    out[m[1]] = v;
  }
  return out;
}

function persona() {
  return {
    village: document.getElementById("sim-village").value,
    locale: document.getElementById("sim-locale").value,
    consented: document.getElementById("sim-consented").checked,
    open_case: document.getElementById("sim-open-case").checked,
  };
}

function channel() {
  return document.querySelector('input[name="sim-channel"]:checked')?.value || "telegram";
}

function bubble(cls, text) {
  const div = document.createElement("div");
  div.className = `bubble ${cls}`;
  div.textContent = text;
  document.getElementById("chat").append(div);
  return div;
}

function showReply(reply) {
  if (channel() === "wechat") {
    bubble("bot wechat", reply.wechat.text);
    return;
  }
  const div = bubble("bot telegram", reply.telegram.text);
  if (reply.buttons.length) {
    const kb = document.createElement("div");
    kb.className = "kb";
    reply.buttons.forEach((b, i) => {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = reply.telegram.buttons[i];
      btn.addEventListener("click", () => simulate({ text: b.title, payload: b.payload }));
      kb.append(btn);
    });
    div.append(kb);
  }
}

async function simulate(turn) {
  const body = { yaml: view.state.doc.toString(), persona: persona(), sender: simSender, ...turn };
  if (!turn.start) body.state = simState;
  if (!turn.start) bubble("user", turn.text || turn.payload);
  const r = await call("POST", `${api}/simulate`, body);
  if (!r.ok) {
    bubble("bot error", `${r.data.error}${r.data.errors?.length ? "\n" + r.data.errors.join("\n") : ""}`);
    return;
  }
  simState = r.data.state;
  simSender = r.data.sender;
  r.data.replies.forEach(showReply);
  const events = document.getElementById("events");
  for (const e of r.data.events) {
    const li = document.createElement("li");
    li.className = `event ${e.kind}`;
    const k = document.createElement("span");
    k.className = "kind";
    k.textContent = e.kind;
    li.append(k, document.createTextNode(e.text));
    events.append(li);
  }
  const panel = document.getElementById("slot-panel");
  panel.replaceChildren();
  panel.dataset.flow = r.data.slots_flow || "";
  if (r.data.slots_flow) {
    const dt = document.createElement("dt");
    dt.textContent = "flow";
    const dd = document.createElement("dd");
    dd.textContent = r.data.slots_flow + (r.data.step ? ` · ${r.data.step}` : "");
    panel.append(dt, dd);
  }
  for (const [k, v] of Object.entries(r.data.slots)) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = typeof v === "string" ? v : JSON.stringify(v);
    panel.append(dt, dd);
  }
  markPath(r.data.path);
  const chat = document.getElementById("chat");
  chat.scrollTop = chat.scrollHeight;
}

document.getElementById("sim-start")?.addEventListener("click", () => {
  document.getElementById("chat").replaceChildren();
  document.getElementById("events").replaceChildren();
  simState = null;
  const step = document.getElementById("sim-step").value;
  simulate({ start: true, step: step || null, slots: parseSlots(document.getElementById("sim-slots").value) });
});
document.getElementById("sim-form")?.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("sim-text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  simulate({ text });
});

forceLinting(view);
refreshSide(flow.yaml);
