// Page: the tasks waiting on a callback, across flows, with the operator's reports (each confirmed).
"use strict";

(() => {
  const { route, show } = Console;

  function age(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }

  // #/tasks, or #/tasks?sort=-age&flow=NAME
  async function page(query) {
    const params = new URLSearchParams(query || "");
    const sort = params.get("sort") === "-age" ? "-age" : "age";
    const flow = params.get("flow") || "";
    const box = el("div");
    const panel = el("div", { id: "task-panel" });
    let token = null;

    // The confirmation step of a report: what will be sent, and a button that sends it.
    function confirmForm(t, kind) {
      panel.textContent = "";
      const path = "/flows/" + enc(t.flow_name) + "/executions/" + enc(t.execution_name) + "/tasks/" + enc(t.task) + "/" + kind;
      const msg = el("p", { role: "status" });
      const fields = kind === "succeeded"
        ? [el("label", { for: "report-output" }, "Output (a JSON object)"), el("textarea", { id: "report-output", rows: "4" }, "{}")]
        : [el("label", { for: "report-error" }, "Error"), el("input", { id: "report-error", maxlength: "128", required: true }),
           el("label", { for: "report-cause" }, "Cause"), el("input", { id: "report-cause", maxlength: "4096" })];
      const cancel = el("button.secondary", { type: "button", id: "report-cancel" }, "Cancel");
      cancel.addEventListener("click", () => { panel.textContent = ""; });
      const form = el("form.card", { id: "report-form", "data-kind": kind, onsubmit: async (e) => {
        e.preventDefault();
        let body;
        if (kind === "succeeded") {
          try { body = { output: JSON.parse(document.getElementById("report-output").value || "{}") }; }
          catch (err) { msg.textContent = "The output is not JSON: " + err.message; msg.className = "error"; return; }
        } else {
          body = { error: document.getElementById("report-error").value, cause: document.getElementById("report-cause").value };
        }
        try {
          const r = await Api.post(path, body);
          panel.textContent = "";
          panel.append(el("p.ok", { role: "status", id: "report-done" }, "Reported " + kind + " (event " + r.event_id + ")."));
          await load(false);
        } catch (err) { msg.textContent = err.message; msg.className = "error"; }
      } },
      el("h2", {}, (kind === "succeeded" ? "Report succeeded: " : "Report failed: ") + t.execution_name + " / " + (t.step_name || t.task)),
      el("p", {}, "The execution of flow ", el("a", { href: "#/flows/" + enc(t.flow_name) + "/executions/" + enc(t.execution_name) }, t.flow_name),
        " goes on as if the task's worker had reported it; the worker's own report is then refused."),
      ...fields,
      el("div.actions", {}, el("button" + (kind === "failed" ? ".danger" : ""), { type: "submit", id: "report-confirm" },
        kind === "succeeded" ? "Confirm success" : "Confirm failure"), cancel), msg);
      panel.append(form);
      (kind === "succeeded" ? document.getElementById("report-output") : document.getElementById("report-error")).focus();
    }

    function row(t) {
      const ok = el("button", { type: "button", "data-report": "succeeded" }, "Succeeded…");
      const bad = el("button.danger", { type: "button", "data-report": "failed" }, "Failed…");
      ok.addEventListener("click", () => confirmForm(t, "succeeded"));
      bad.addEventListener("click", () => confirmForm(t, "failed"));
      return el("tr", { "data-task": t.flow_name + "/" + t.execution_name + "/" + t.task },
        el("td", {}, el("a", { href: "#/flows/" + enc(t.flow_name) }, t.flow_name)),
        el("td", {}, el("a", { href: "#/flows/" + enc(t.flow_name) + "/executions/" + enc(t.execution_name) }, t.execution_name)),
        el("td", {}, t.step_name || "—"), el("td.break", {}, t.resource || "—"), el("td.num", {}, t.attempt === null ? "—" : t.attempt),
        el("td", { title: t.waiting_since }, fmtTime(t.waiting_since)), el("td.num", { "data-age": String(t.age_seconds) }, age(t.age_seconds)),
        el("td", {}, fmtTime(t.last_heartbeat)), el("td", {}, t.deadline ? fmtTime(t.deadline) : "none"),
        el("td", {}, el("div.inline", {}, ok, bad)));
    }

    async function load(more) {
      const q = new URLSearchParams({ sort, limit: "50" });
      if (flow) q.set("flow", flow);
      if (more && token) q.set("next_token", token);
      const doc = await Api.get("/tasks?" + q.toString());
      token = doc.next_token;
      if (!more) box.textContent = "";
      const rows = doc.tasks.map(row);
      let body = box.querySelector("tbody");
      if (!body) {
        const other = sort === "age" ? "-age" : "age";
        const link = "#/tasks?" + new URLSearchParams(flow ? { sort: other, flow } : { sort: other }).toString();
        const ageHead = el("a", { href: link, id: "sort-age" }, "Waiting " + (sort === "age" ? "▼ longest first" : "▲ newest first"));
        box.append(el("div.table-wrap", {}, el("table", { id: "waiting-tasks" },
          el("thead", {}, el("tr", {}, ["Flow", "Execution", "Step", "Target", "Attempt", "Waiting since"].map((h) => el("th", { scope: "col" }, h)),
            el("th", { scope: "col" }, ageHead), ...["Last heartbeat", "Deadline", ""].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}))));
        body = box.querySelector("tbody");
      }
      body.append(...rows);
      box.querySelector("#more-tasks")?.remove();
      if (!body.children.length) box.append(el("p", { id: "no-tasks" }, "No task is waiting on a callback."));
      if (token) {
        const btn = el("button.secondary", { type: "button", id: "more-tasks" }, "More");
        btn.addEventListener("click", () => load(true));
        box.append(btn);
      }
    }

    const filter = el("form.filters", { onsubmit: (e) => {
      e.preventDefault();
      const value = document.getElementById("tasks-flow").value.trim();
      location.hash = "#/tasks?" + new URLSearchParams(value ? { sort, flow: value } : { sort }).toString();
    } }, el("label", {}, "Flow ", el("input", { id: "tasks-flow", value: flow, placeholder: "every flow" })), el("button", { type: "submit" }, "Filter"));
    show(el("h1", {}, "Waiting tasks"),
      el("p", {}, "Tasks waiting on a callback (a report with their task token), across flows."), filter, panel, box);
    await load(false);
  }

  route("/tasks", () => page(""));
  route("/tasks\\?(.*)", page);
})();
