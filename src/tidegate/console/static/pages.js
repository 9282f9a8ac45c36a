// Pages: sign-in, router, flows, executions (graph coloured live, step panel, history), start and stop.
"use strict";

const Console = (() => {
  const view = () => document.getElementById("view");
  const routes = [];
  let cleanup = null;  // stops the previous page's polling
  // The execution statuses of tidegate.status, in its order (tests/test_status.py keeps them equal).
  const STATUSES = ["Starting", "Running", "Stopped", "Succeeded", "Failed", "TimedOut"];
  const ACTIVE = ["Starting", "Running"];

  function route(pattern, render) { routes.push({ re: new RegExp("^" + pattern + "$"), render }); }

  function show(...nodes) {
    const v = view();
    v.textContent = "";
    v.removeAttribute("data-gated");
    v.append(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
    Api.gate(v);
  }

  async function dispatch() {
    if (cleanup) { cleanup(); cleanup = null; }
    if (!Api.session) return;
    const hash = location.hash.replace(/^#/, "") || "/flows";
    const section = hash.split("?")[0].split("/")[1];
    for (const a of document.querySelectorAll("#nav a")) {
      a.classList.toggle("active", a.dataset.section === section);
      if (a.dataset.section === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    for (const r of routes) {
      const m = hash.match(r.re);
      if (m) {
        try {
          await r.render(...m.slice(1).map(decodeURIComponent));
        } catch (err) {
          show(el("h1", {}, "Error"), errorBox(err));
        }
        return;
      }
    }
    show(el("h1", {}, "Not found"), el("p", {}, "No page at " + hash));
  }

  function onCleanup(fn) { cleanup = fn; }

  // --- sign-in ---------------------------------------------------------------------------------------

  function signedOut() {
    Api.session = null;
    document.getElementById("nav").hidden = true;
    document.getElementById("signin").hidden = false;
    show();
    document.getElementById("signin-id").focus();
  }

  function signedIn(session) {
    Api.session = session;
    document.getElementById("signin").hidden = true;
    document.getElementById("nav").hidden = false;
    document.getElementById("who").textContent = session.key_id;
    dispatch();
  }

  async function boot() {
    window.addEventListener("hashchange", dispatch);
    window.addEventListener("console:signedout", signedOut);
    document.getElementById("signin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      const msg = document.getElementById("signin-error");
      msg.textContent = "";
      try {
        signedIn(await Api.post("/session", { access_key_id: f.access_key_id.value, access_key_secret: f.access_key_secret.value }));
        f.reset();
      } catch (err) {
        msg.textContent = err.message;
      }
    });
    document.getElementById("signout").addEventListener("click", async () => {
      try { await Api.call("DELETE", "/session"); } finally { signedOut(); }
    });
    try { signedIn(await Api.get("/session")); } catch (err) { signedOut(); }
  }

  // --- flows -----------------------------------------------------------------------------------------

  route("/flows", async () => {
    const results = el("div", { id: "flow-results" });
    const q = el("input", { id: "flow-search", type: "search", placeholder: "Search flows", "aria-label": "Search flows" });
    let token = null;
    async function load(reset) {
      if (reset) { token = null; results.textContent = ""; }
      const doc = await Api.get("/flows?limit=50&q=" + enc(q.value) + (token ? "&next_token=" + enc(token) : ""));
      const rows = doc.flows.map((f) => el("tr", {},
        el("td", {}, el("a", { href: "#/flows/" + enc(f.name) }, f.name)),
        el("td", {}, f.description || ""), el("td", {}, fmtTime(f.last_modified_time))));
      results.append(table(["Name", "Description", "Modified"], rows));
      token = doc.next_token;
      more.hidden = !token;
    }
    const more = el("button", { type: "button", hidden: true, onclick: () => load(false) }, "More flows");
    const form = el("form.inline", { role: "search", onsubmit: (e) => { e.preventDefault(); load(true); } },
      q, el("button", { type: "submit" }, "Search"));
    show(el("h1", {}, "Flows"), form, results, more);
    await load(true);
  });

  function highlightYaml(text) {
    const pre = el("pre.code", { tabindex: "0", "aria-label": "Definition" });
    for (const line of text.split("\n")) {
      const m = line.match(/^(\s*-?\s*)([A-Za-z_][\w.-]*)(:)(.*)$/);
      if (line.trim().startsWith("#")) pre.append(el("span.y-comment", {}, line));
      else if (m) {
        pre.append(m[1], el("span.y-key", {}, m[2]), m[3]);
        const [value, comment] = splitComment(m[4]);
        pre.append(el(/^\s*["']/.test(value) ? "span.y-str" : /^\s*[\d.]+\s*$/.test(value) ? "span.y-num" : "span.y-val", {}, value));
        if (comment) pre.append(el("span.y-comment", {}, comment));
      } else pre.append(line);
      pre.append("\n");
    }
    return pre;
  }

  function splitComment(value) {
    const i = value.search(/\s#/);
    return i < 0 ? [value, ""] : [value.slice(0, i), value.slice(i)];
  }

  route("/flows/([^/]+)", async (name) => {
    const flow = await Api.get("/flows/" + enc(name));
    const graphBox = el("div.graph-box", { id: "graph" });
    const starter = startForm(name);
    const list = el("div", { id: "executions" });
    show(
      el("nav.crumbs", { "aria-label": "Breadcrumb" }, el("a", { href: "#/flows" }, "Flows"), " / ", name),
      el("h1", {}, name),
      flow.description ? el("p", {}, flow.description) : null,
      el("div.actions", {}, el("button", { type: "button", id: "start-open", ...Api.needs("fnf:StartExecution", Api.arn("fnf", "flows/" + name + "/executions/*")), onclick: () => { starter.hidden = false; starter.querySelector("textarea").focus(); } }, "Start execution")),
      starter,
      el("div.split", {},
        el("section.panel", { "aria-label": "Graph" }, el("h2", {}, "Graph"), graphBox),
        el("section.panel", { "aria-label": "Definition" }, el("h2", {}, "Definition"), highlightYaml(flow.definition))),
      el("h2", {}, "Executions"), list);
    if (flow.graph) {
      const t0 = performance.now();
      Graph.render(graphBox, flow.graph, {});
      window.__consoleMetrics = { flowGraphMs: performance.now() - t0, nodes: flow.graph.count };
    } else graphBox.append(el("p", {}, "This definition cannot be drawn."));
    executionList(list, name);
  });

  function startForm(flowName) {
    const input = el("textarea", { id: "start-input", rows: "6", spellcheck: "false", "aria-describedby": "start-msg" }, "{}");
    const msg = el("p", { id: "start-msg", role: "status" });
    const name = el("input", { id: "start-name", placeholder: "generated when empty" });
    const submit = el("button", { type: "submit", id: "start-submit" }, "Start");
    function validate() {
      try {
        const v = JSON.parse(input.value);
        if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("The input must be a JSON object.");
        msg.textContent = "Valid JSON object.";
        msg.className = "ok";
        submit.disabled = false;
        input.setAttribute("aria-invalid", "false");
        return v;
      } catch (err) {
        msg.textContent = "Invalid input: " + err.message;
        msg.className = "error";
        submit.disabled = true;
        input.setAttribute("aria-invalid", "true");
        return null;
      }
    }
    input.addEventListener("input", validate);
    const form = el("form.card", { id: "start-form", hidden: true, onsubmit: async (e) => {
      e.preventDefault();
      const value = validate();
      if (!value) return;  // never sent: the editor validates first
      try {
        const ex = await Api.post("/flows/" + enc(flowName) + "/executions", { name: name.value || null, input: value });
        location.hash = "#/flows/" + enc(flowName) + "/executions/" + enc(ex.name);
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    } },
    el("h2", {}, "Start an execution"),
    el("label", { for: "start-name" }, "Execution name"), name,
    el("label", { for: "start-input" }, "Input (JSON object)"), input, msg,
    el("div.actions", {}, submit, el("button", { type: "button", class: "secondary", onclick: () => { form.hidden = true; } }, "Cancel")));
    return form;
  }

  function executionList(box, flowName) {
    const status = el("select", { id: "f-status", "aria-label": "Status" },
      ["", ...STATUSES].map((s) => el("option", { value: s }, s || "Any status")));
    const prefix = el("input", { id: "f-prefix", placeholder: "Name prefix", "aria-label": "Name prefix" });
    const from = el("input", { id: "f-from", type: "datetime-local", "aria-label": "Started after" });
    const to = el("input", { id: "f-to", type: "datetime-local", "aria-label": "Started before" });
    const results = el("div");
    const pager = el("div.actions");
    const tokens = [null];
    let page = 0;
    async function load() {
      const q = new URLSearchParams({ limit: "25" });
      if (status.value) q.set("status", status.value);
      if (prefix.value) q.set("prefix", prefix.value);
      if (from.value) q.set("from", new Date(from.value).toISOString());
      if (to.value) q.set("to", new Date(to.value).toISOString());
      if (tokens[page]) q.set("next_token", tokens[page]);
      const doc = await Api.get("/flows/" + enc(flowName) + "/executions?" + q);
      tokens[page + 1] = doc.next_token;
      results.textContent = "";
      results.append(table(["Name", "Status", "Started", "Stopped"], doc.executions.map((x) => el("tr", {},
        el("td", {}, el("a", { href: "#/flows/" + enc(flowName) + "/executions/" + enc(x.name) }, x.name)),
        el("td", {}, statusBadge(x.status)), el("td", {}, fmtTime(x.started_time)), el("td", {}, fmtTime(x.stopped_time))))));
      if (!doc.executions.length) results.append(el("p", {}, "No executions match."));
      pager.textContent = "";
      if (page > 0) pager.append(el("button", { type: "button", onclick: () => { page--; load(); } }, "Previous page"));
      if (doc.next_token) pager.append(el("button", { type: "button", id: "next-page", onclick: () => { page++; load(); } }, "Next page"));
    }
    const form = el("form.filters", { onsubmit: (e) => { e.preventDefault(); page = 0; tokens.length = 1; load(); } },
      status, prefix, el("label", {}, "from ", from), el("label", {}, "to ", to), el("button", { type: "submit" }, "Filter"));
    box.append(form, results, pager);
    return load();
  }

  // --- execution -------------------------------------------------------------------------------------

  const PAGE = 100;

  route("/flows/([^/]+)/executions/([^/]+)", async (flowName, name) => {
    const base = "/flows/" + enc(flowName) + "/executions/" + enc(name);
    const t0 = performance.now();
    const ex = await Api.get(base);
    const graphBox = el("div.graph-box", { id: "graph" });
    const panel = el("section.panel.step-panel", { id: "step-panel", "aria-live": "polite" }, el("p", {}, "Select a step to see its input, output and attempts."));
    const head = el("div.exec-head");
    const io = el("div.split");
    const history = el("section", { id: "history" });
    show(
      el("nav.crumbs", { "aria-label": "Breadcrumb" }, el("a", { href: "#/flows" }, "Flows"), " / ",
        el("a", { href: "#/flows/" + enc(flowName) }, flowName), " / ", name),
      el("h1", {}, name), head,
      el("div.split.wide", {}, el("section.panel", { "aria-label": "Graph" }, graphBox), panel),
      io, history);
    const g = ex.graph ? Graph.render(graphBox, ex.graph, { onSelect: (p) => showStep(base, p, panel) }) : null;
    if (!g) graphBox.append(el("p", {}, "This definition cannot be drawn."));
    const events = [];
    let after = 0, shownPage = null, stopped = false, timer = null, status = ex.status;
    const pager = el("div.actions");
    const tbody = el("tbody");
    history.append(el("h2", {}, "History"), el("div.table-wrap", {}, el("table", { id: "history-table" },
      el("thead", {}, el("tr", {}, ["Id", "Type", "Step", "Time", "Detail"].map((h) => el("th", { scope: "col" }, h)))), tbody)), pager);

    function renderHead(x) {
      status = x.status;
      head.textContent = "";
      head.append(statusBadge(x.status), " started ", fmtTime(x.started_time),
        x.stopped_time ? " · stopped " + fmtTime(x.stopped_time) : "",
        x.error ? el("span.error", {}, " · " + x.error + (x.cause ? ": " + x.cause : "")) : "");
      const running = ACTIVE.includes(x.status);
      head.removeAttribute("data-gated");
      if (running) head.append(stopForm(base, Api.arn("fnf", "flows/" + flowName + "/executions/" + name)));
      head.append(el("a.button", { href: "#/flows/" + enc(flowName), id: "start-new", ...Api.needs("fnf:StartExecution", Api.arn("fnf", "flows/" + flowName + "/executions/*")) }, "Start new"));
      Api.gate(head);
      io.textContent = "";
      io.append(el("section.panel", {}, el("h2", {}, "Input"), el("pre.code", { id: "exec-input", tabindex: "0" }, json(x.input))),
        el("section.panel", {}, el("h2", {}, "Output"), el("pre.code", { id: "exec-output", tabindex: "0" }, x.output === null || x.output === undefined ? "—" : json(x.output))));
    }

    function renderHistory(pageNo) {
      const last = Math.max(0, Math.ceil(events.length / PAGE) - 1);
      shownPage = pageNo === null ? last : Math.min(pageNo, last);
      tbody.textContent = "";
      const frag = document.createDocumentFragment();
      for (const e of events.slice(shownPage * PAGE, shownPage * PAGE + PAGE)) {
        frag.append(el("tr", { "data-event": e.event_id }, el("td", {}, e.event_id), el("td", {}, e.type), el("td", {}, e.step_name),
          el("td", {}, fmtTime(e.time)), el("td", {}, el("details", {}, el("summary", {}, "detail"), el("pre", {}, json(e.detail))))));
      }
      tbody.append(frag);
      pager.textContent = "";
      pager.append(el("span", {}, `Events ${events.length ? shownPage * PAGE + 1 : 0}–${Math.min(events.length, (shownPage + 1) * PAGE)} of ${events.length}`));
      if (shownPage > 0) pager.append(el("button", { type: "button", onclick: () => renderHistory(shownPage - 1) }, "Earlier events"));
      if (shownPage < last) pager.append(el("button", { type: "button", onclick: () => renderHistory(shownPage + 1) }, "Later events"));
    }

    renderHead(ex);
    // Short polling of the history after the last event id: one cheap row read while nothing changes.
    async function poll() {
      if (stopped) return;
      let doc;
      try { doc = await Api.get(base + "/progress?after=" + after); } catch (err) { if (!stopped) timer = setTimeout(poll, 2000); return; }
      if (stopped) return;
      if (doc.events.length) {
        const followLast = shownPage === null || shownPage === Math.max(0, Math.ceil(events.length / PAGE) - 1);
        events.push(...doc.events);
        after = doc.last_event_id;
        renderHistory(followLast ? null : shownPage);
        if (g && doc.nodes) g.setStates(doc.nodes);
      }
      const wasRunning = ACTIVE.includes(status);
      if (doc.execution.status !== status || !wasRunning) renderHead(Object.assign({}, ex, doc.execution));
      graphBox.setAttribute("data-execution-status", doc.execution.status);
      const running = ACTIVE.includes(doc.execution.status);
      if (doc.more) timer = setTimeout(poll, 0);
      else if (running) timer = setTimeout(poll, 500);
      else {
        window.__consoleMetrics = { executionMs: performance.now() - t0, events: events.length };
        graphBox.setAttribute("data-loaded", "true");
      }
    }
    onCleanup(() => { stopped = true; clearTimeout(timer); });
    renderHistory(null);
    await poll();
  });

  function stopForm(base, arn) {
    const error = el("input", { id: "stop-error", placeholder: "Error", "aria-label": "Stop error", maxlength: "128" });
    const cause = el("input", { id: "stop-cause", placeholder: "Cause", "aria-label": "Stop cause", maxlength: "4096" });
    const msg = el("span", { role: "status" });
    return el("form.inline.stop", { ...Api.needs("fnf:StopExecution", arn), onsubmit: async (e) => {
      e.preventDefault();
      try { await Api.post(base + "/stop", { error: error.value, cause: cause.value }); msg.textContent = "Stop requested."; }
      catch (err) { msg.textContent = err.message; }
    } }, error, cause, el("button.danger", { type: "submit", id: "stop-submit" }, "Stop"), msg);
  }

  // A function invocation's request id, stack trace and log tail, always as text (never HTML).
  function invocationParts(a) {
    const parts = [];
    if (a.request_id) parts.push(el("p.request-id", {}, "Request " + a.request_id));
    if (a.stack_trace && a.stack_trace.length) {
      parts.push(el("details.stack", { open: true }, el("summary", {}, "Stack trace"), el("pre.code.stack-trace", { tabindex: "0" }, a.stack_trace.join("\n"))));
    }
    if (typeof a.log_tail === "string") {
      const size = typeof a.log_bytes === "number" ? a.log_bytes : a.log_tail.length;
      const shown = new TextEncoder().encode(a.log_tail).length;
      const label = !size ? "Log (no output)" : shown < size ? `Log (the last ${shown} of ${size} bytes)` : `Log (${size} bytes)`;
      parts.push(el("details.log", { open: !!size }, el("summary", {}, label), el("pre.code.log-tail", { tabindex: "0" }, a.log_tail)));
    }
    return parts;
  }

  async function showStep(base, path, panel) {
    panel.textContent = "";
    panel.append(el("p", {}, "Loading…"));
    let doc;
    try { doc = await Api.get(base + "/steps?path=" + enc(path)); } catch (err) { panel.textContent = ""; panel.append(errorBox(err)); return; }
    panel.textContent = "";
    panel.append(el("h2", {}, doc.name), el("p", {}, doc.type + " · " + (doc.total ? doc.total + " run(s)" : "not reached")));
    if (doc.total > doc.runs.length) panel.append(el("p", {}, `Showing the last ${doc.runs.length} runs.`));
    for (const run of doc.runs.slice().reverse()) {
      const box = el("div.run", { "data-run-status": run.status }, el("h3", {}, "Run at event " + run.entered_event_id, " ", statusBadge(run.status)));
      if (run.error) box.append(el("p.error", {}, run.error + (run.cause ? ": " + run.cause : "")));
      box.append(el("h4", {}, "Input"), el("pre.code", {}, json(run.input)));
      if (run.output !== null && run.output !== undefined) box.append(el("h4", {}, "Output"), el("pre.code", {}, json(run.output)));
      for (const a of run.attempts) {
        box.append(el("details.attempt", { open: true }, el("summary", {}, `Attempt ${a.attempt} · ${a.pattern} · ${a.status}` + (a.token_state ? ` · token ${a.token_state}` : "")),
          a.error ? el("p.error", {}, a.error + (a.cause ? ": " + a.cause : "")) : null,
          a.output !== null && a.output !== undefined ? el("pre.code", {}, json(a.output)) : null,
          ...invocationParts(a)));
      }
      panel.append(box);
    }
  }

  return { boot, route, show, onCleanup, refresh: dispatch };
})();

document.addEventListener("DOMContentLoaded", () => Console.boot());
