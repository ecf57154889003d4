// The history page (/flows/{id}/history): versions with who/when, a diff between any two,
// rollback (publishes the old version anew), and the publications from the audit log.
const flow = JSON.parse(document.getElementById("flow-data").textContent);
const T = JSON.parse(document.getElementById("texts").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const api = `/api/flows/${flow.id}`;

async function call(method, url, body) {
  const r = await fetch(url, { method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { ok: r.ok, status: r.status, data: await r.json() };
}

// shown in the configured zone (XIANGZHU_TIMEZONE, Asia/Shanghai by default; the API answers in
// UTC), whatever the browser's own zone, as "2026-11-23 10:00" like the list page
const clock = new Intl.DateTimeFormat("sv-SE", { timeZone: flow.zone || "Asia/Shanghai", year: "numeric",
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const when = (iso) => {
  if (!iso) return "";
  const zoned = /(Z|[+-]\d\d:\d\d)$/.test(iso) ? iso : `${iso}Z`; // stored as UTC
  return clock.format(new Date(zoned));
};

function showDiff(text) {
  const pre = document.getElementById("diff");
  pre.replaceChildren();
  for (const line of text.split("\n")) {
    const span = document.createElement("span");
    if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
    else if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
    span.textContent = line + "\n";
    pre.append(span);
  }
}

async function load() {
  const r = await call("GET", `${api}/history`);
  const ul = document.getElementById("versions");
  ul.replaceChildren();
  const a = document.getElementById("diff-a"), b = document.getElementById("diff-b");
  a.replaceChildren(); b.replaceChildren();
  for (const v of r.data.versions) {
    const li = document.createElement("li");
    li.dataset.version = v.version;
    if (v.current) li.classList.add("current");
    li.textContent = `v${v.version} · ${v.by.name} · ${when(v.created_at)}` +
      (v.published_at ? ` · ${T.published} ${when(v.published_at)}` : ` · ${T.draft}`) + (v.current ? ` · ${T.current}` : "");
    if (flow.can_edit && !v.current) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "rollback";
      btn.textContent = T.rollback;
      btn.addEventListener("click", async () => {
        if (!window.confirm(T.confirm_rollback.replace("{v}", v.version))) return;
        const res = await call("POST", `${api}/rollback`, { version: v.version });
        const st = document.getElementById("status");
        st.textContent = res.ok ? T.rolled.replace("{v}", v.version) : res.data.error;
        st.className = res.ok ? "ok" : "error";
        load();
      });
      li.append(document.createElement("br"), btn);
    }
    ul.append(li);
    for (const sel of [a, b]) {
      const o = document.createElement("option");
      o.value = v.version; o.textContent = `v${v.version}`;
      sel.append(o);
    }
  }
  if (r.data.versions.length > 1) { a.value = r.data.versions[1].version; b.value = r.data.versions[0].version; }
  const ol = document.getElementById("publications");
  ol.replaceChildren();
  for (const e of r.data.events) {
    const li = document.createElement("li");
    li.textContent = `${when(e.at)} · ${e.by.name} · ${e.action} v${e.version}` + (e.as_version ? ` → v${e.as_version}` : "");
    ol.append(li);
  }
}

document.getElementById("diff-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await call("GET", `${api}/diff?a=${document.getElementById("diff-a").value}&b=${document.getElementById("diff-b").value}`);
  showDiff(r.ok ? r.data.diff || "(=)" : r.data.error);
});

load();
