// Page: the servers sharing the store (nodes): address, version, host and pid, start, heartbeat age, state.
"use strict";

(() => {
  const { route, show } = Console;
  const STATE_CLASS = { live: "st-succeeded", dead: "st-failed", stopped: "st-stopped" };

  function age(ms) {
    return ms < 1000 ? ms + " ms" : ms < 120000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 60000) + " min";
  }

  route("/nodes", async () => {
    const doc = await Api.get("/nodes");
    const rows = doc.nodes.map((n) => el("tr", { "data-node": n.id },
      el("td", {}, el("code", {}, n.id), n.id === doc.this_node ? " (this server)" : ""),
      el("td", {}, n.address), el("td", {}, n.version), el("td", {}, n.host + " · pid " + n.pid),
      el("td", {}, fmtTime(n.started_time)), el("td.num", {}, age(n.last_seen_age_ms)),
      el("td", {}, el("span.badge." + (STATE_CLASS[n.state] || "st-stopped"), { "data-state": n.state }, n.state))));
    const live = doc.nodes.filter((n) => n.state === "live").length;
    show(el("h1", {}, "Nodes"),
      el("p", {}, live + " of " + doc.nodes.length + " server(s) live. A server without a heartbeat for 3 s is dead: its work moves to the others."),
      table(["Node", "Address", "Version", "Host", "Started", "Last seen", "State"], rows),
      rows.length ? null : el("p", {}, "No nodes."));
  });
})();
