// Pages: queues (counts, peek, send), topics (subscriptions, delivery state, publish), schedules.
"use strict";

(() => {
  const { route, show } = Console;

  route("/queues", async () => {
    const doc = await Api.get("/queues");
    show(el("h1", {}, "Queues"), table(["Name", "Active", "Inactive", "Delayed"], doc.queues.map((q) => el("tr", { "data-queue": q.name },
      el("td", {}, el("a", { href: "#/queues/" + enc(q.name) }, q.name)),
      el("td.num", {}, q.active_messages), el("td.num", {}, q.inactive_messages), el("td.num", {}, q.delay_messages)))),
    doc.queues.length ? null : el("p", {}, "No queues."));
  });

  route("/queues/([^/]+)", async (name) => {
    const box = el("div");
    async function load() {
      const doc = await Api.get("/queues/" + enc(name));
      const q = doc.queue;
      box.textContent = "";
      box.append(
        el("dl.counts", { id: "queue-counts" },
          el("dt", {}, "Active"), el("dd", { "data-count": "active" }, q.active_messages),
          el("dt", {}, "Inactive"), el("dd", { "data-count": "inactive" }, q.inactive_messages),
          el("dt", {}, "Delayed"), el("dd", { "data-count": "delayed" }, q.delay_messages),
          el("dt", {}, "Receivers waiting"), el("dd", { "data-count": "receivers" }, doc.receivers_waiting),
          el("dt", {}, "Quarantined"), el("dd", { "data-count": "quarantined" }, doc.quarantined)),
        el("h2", {}, "Peek"),
        table(["Message id", "Body", "Priority", "Enqueued", "Dequeues"], doc.messages.map((m) => el("tr", {},
          el("td", {}, m.message_id), el("td", {}, el("pre.body", {}, m.body)), el("td.num", {}, m.priority),
          el("td", {}, fmtTime(m.enqueue_time)), el("td.num", {}, m.dequeue_count)))),
        doc.messages.length ? null : el("p", { id: "peek-note" }, doc.messages_hidden ? "Messages are shown only with mns:PeekMessage on this queue." : "No active message."),
        ...(doc.quarantined ? quarantine(doc) : []));
      Api.gate(box);
    }
    // Messages a receive or peek could not render: set aside with the reason; an operator may delete them.
    function quarantine(doc) {
      return [el("h2", {}, "Quarantined messages"),
        el("p", {}, "These messages could not be delivered (a receive could not render them) and were set aside."),
        table(["Message id", "Reason", "Enqueued", "Quarantined", ""], doc.quarantined_messages.map((m) => {
          const del = el("button", { type: "button", "data-quarantine": String(m.id), ...Api.needs("mns:DeleteMessage", Api.arn("mns", "/queues/" + name + "/messages")) }, "Delete");
          del.addEventListener("click", async () => {
            del.disabled = true;
            try { await Api.call("DELETE", "/queues/" + enc(name) + "/quarantine/" + m.id); } finally { await load(); }
          });
          return el("tr", { "data-quarantined": m.message_id }, el("td", {}, m.message_id), el("td.break", {}, m.reason),
            el("td", {}, fmtTime(m.enqueue_time)), el("td", {}, fmtTime(m.quarantine_time)), el("td", {}, del));
        }))];
    }
    const body = el("textarea", { id: "send-body", rows: "4", "aria-label": "Message body" });
    const delay = el("input", { id: "send-delay", type: "number", min: "0", placeholder: "0", "aria-label": "Delay seconds" });
    const priority = el("input", { id: "send-priority", type: "number", min: "1", max: "16", placeholder: "8", "aria-label": "Priority" });
    const msg = el("p", { role: "status" });
    const form = el("form.card", { id: "send-form", ...Api.needs("mns:SendMessage", Api.arn("mns", "/queues/" + name + "/messages")), onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await Api.post("/queues/" + enc(name) + "/messages", {
          body: body.value, delay_seconds: delay.value ? Number(delay.value) : null, priority: priority.value ? Number(priority.value) : null });
        msg.textContent = "Sent " + r.message_id;
        msg.className = "ok";
        body.value = "";
        await load();
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    } }, el("h2", {}, "Send a message"), el("label", { for: "send-body" }, "Body"), body,
    el("div.row", {}, el("label", {}, "Delay (s) ", delay), el("label", {}, "Priority ", priority)),
    el("button", { type: "submit" }, "Send"), msg);
    show(el("nav.crumbs", { "aria-label": "Breadcrumb" }, el("a", { href: "#/queues" }, "Queues"), " / ", name), el("h1", {}, name), box, form);
    await load();
  });

  route("/topics", async () => {
    const doc = await Api.get("/topics");
    show(el("h1", {}, "Topics"), table(["Name", "Messages", "Created"], doc.topics.map((t) => el("tr", {},
      el("td", {}, el("a", { href: "#/topics/" + enc(t.name) }, t.name)), el("td.num", {}, t.message_count), el("td", {}, fmtTime(t.create_time * 1000))))),
    doc.topics.length ? null : el("p", {}, "No topics."));
  });

  route("/topics/([^/]+)", async (name) => {
    const box = el("div");
    async function load() {
      const doc = await Api.get("/topics/" + enc(name));
      box.textContent = "";
      box.append(el("h2", {}, "Subscriptions"), table(["Name", "Endpoint", "Strategy", "Filter tag", "Delivery", "Pending", "Attempts", "Last error", "Failed", "Last failure"],
        doc.subscriptions.map((s) => el("tr", { "data-subscription": s.subscription_name },
          el("td", {}, s.subscription_name), el("td.break", {}, s.endpoint), el("td", {}, s.notify_strategy), el("td", {}, s.filter_tag || "—"),
          el("td", {}, el("span.badge.st-" + s.delivery_state, { "data-delivery": s.delivery_state }, s.delivery_state)),
          el("td.num", {}, s.pending), el("td.num", {}, s.max_attempts), el("td.break", {}, s.last_error || "—"),
          el("td.num", { "data-failed": String(s.failed) }, s.failed), el("td.break", {}, s.last_failure || "—")))),
      doc.subscriptions.length ? null : el("p", {}, "No subscriptions."),
      ...(doc.failed_deliveries.length ? [el("h2", {}, "Failed pushes (latest)"),
        table(["Subscription", "Message id", "Attempts", "Failure", "Failed at"], doc.failed_deliveries.map((f) => el("tr", {},
          el("td", {}, f.subscription), el("td", {}, f.message_id), el("td.num", {}, f.attempts), el("td.break", {}, f.failure),
          el("td", {}, fmtTime(f.failed_ms)))))] : []));
    }
    const body = el("textarea", { id: "publish-body", rows: "4", "aria-label": "Message body" });
    const tag = el("input", { id: "publish-tag", "aria-label": "Tag" });
    const msg = el("p", { role: "status" });
    const form = el("form.card", { id: "publish-form", ...Api.needs("mns:PublishMessage", Api.arn("mns", "/topics/" + name + "/messages")), onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await Api.post("/topics/" + enc(name) + "/messages", { body: body.value, tag: tag.value || null });
        msg.textContent = "Published " + r.message_id;
        msg.className = "ok";
        await load();
      } catch (err) { msg.textContent = err.message; msg.className = "error"; }
    } }, el("h2", {}, "Publish"), el("label", { for: "publish-body" }, "Body"), body, el("label", {}, "Tag ", tag),
    el("button", { type: "submit" }, "Publish"), msg);
    show(el("nav.crumbs", { "aria-label": "Breadcrumb" }, el("a", { href: "#/topics" }, "Topics"), " / ", name), el("h1", {}, name), box, form);
    await load();
  });

  route("/schedules", async () => {
    const doc = await Api.get("/schedules");
    const rows = doc.schedules.map((s) => {
      const toggle = el("button", { type: "button", "data-schedule": s.flow_name + "/" + s.name, "aria-pressed": String(s.enable),
        ...Api.needs("fnf:UpdateSchedule", Api.arn("fnf", "flows/" + s.flow_name + "/schedules/" + s.name)) }, s.enable ? "Disable" : "Enable");
      toggle.addEventListener("click", async () => {
        toggle.disabled = true;
        try { await Api.patch("/flows/" + enc(s.flow_name) + "/schedules/" + enc(s.name), { enable: !s.enable }); }
        finally { Console.refresh(); }
      });
      return el("tr", { "data-row": s.flow_name + "/" + s.name },
        el("td", {}, el("a", { href: "#/flows/" + enc(s.flow_name) }, s.flow_name)), el("td", {}, s.name), el("td", {}, el("code", {}, s.cron)),
        el("td", {}, s.enable ? "enabled" : "disabled"),
        el("td", {}, s.next_fires_ms.length ? el("ul.plain", {}, s.next_fires_ms.map((t) => el("li", {}, fmtTime(t)))) : "—"),
        el("td", {}, toggle));
    });
    show(el("h1", {}, "Schedules"), table(["Flow", "Schedule", "Cron", "State", "Next fire times", ""], rows),
      rows.length ? null : el("p", {}, "No schedules."));
  });
})();
