// The console's API client and small DOM helpers (no framework, no third-party code).
"use strict";

const Api = {
  session: null,

  // fetch a /console/api path; state-changing requests carry JSON and the session's CSRF token.
  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method !== "GET" && Api.session) headers["X-CSRF-Token"] = Api.session.csrf;
    const resp = await fetch("/console/api" + path, init);
    let doc = null;
    try { doc = await resp.json(); } catch (e) { doc = null; }
    if (resp.status === 401 && path !== "/session") {
      Api.session = null;
      window.dispatchEvent(new CustomEvent("console:signedout"));
    }
    if (!resp.ok) {
      const err = new Error((doc && doc.message) || ("HTTP " + resp.status));
      err.status = resp.status;
      err.code = doc && doc.code;
      throw err;
    }
    return doc;
  },
  get(path) { return Api.call("GET", path); },
  post(path, body) { return Api.call("POST", path, body || {}); },
  patch(path, body) { return Api.call("PATCH", path, body || {}); },

  // The ARN of a resource of this server: arn("fnf", "flows/F/executions/*").
  arn(service, rest) { return "acs:" + service + ":" + Api.session.region + ":" + Api.session.account_id + ":" + rest; },

  // Attributes marking a control that needs a permission (hidden by gate() when the identity lacks it).
  needs(action, resource) { return { "data-needs-action": action, "data-needs-resource": resource }; },

  // Ask the server what the signed-in identity may do for every marked control under root, and hide and
  // disable the denied ones; root is then marked data-gated. The root key may do everything (no request).
  async gate(root) {
    const nodes = [...root.querySelectorAll("[data-needs-action]")].slice(0, 100);
    try {
      if (nodes.length && Api.session && Api.session.principal.kind !== "root") {
        const checks = nodes.map((n) => ({ action: n.dataset.needsAction, resource: n.dataset.needsResource }));
        const doc = await Api.post("/permissions", { checks });
        doc.decisions.forEach((d, i) => {
          if (d.allowed) return;
          nodes[i].hidden = true;
          nodes[i].setAttribute("data-denied", "true");
          if ("disabled" in nodes[i]) nodes[i].disabled = true;
        });
      }
    } catch (err) {
      // Unknown: leave the controls; the server refuses what the identity may not do anyway.
    } finally {
      root.setAttribute("data-gated", "true");
    }
  },
};

// el("tag.class", {attr: value, onclick: fn}, child...) builds elements with text, never HTML.
function el(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag);
  if (classes.length) node.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const enc = encodeURIComponent;

function fmtTime(value) {
  if (value === null || value === undefined || value === "") return "—";
  const d = typeof value === "number" ? new Date(value) : new Date(value);
  if (isNaN(d.getTime())) return String(value);
  return d.toISOString().replace("T", " ").replace("Z", " UTC");
}

function json(value) {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

function statusBadge(status) {
  return el("span.badge.st-" + String(status).toLowerCase(), { "data-status": status }, status);
}

function table(headers, rows, caption) {
  return el("div.table-wrap", {},
    el("table", {},
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

function errorBox(err) {
  return el("p.error", { role: "alert" }, err && err.message ? err.message : String(err));
}
