// Flow graph: a recursive block layout of FDL's structure, drawn as SVG.
// Sequences stack vertically; choice, parallel and catch split into side-by-side branches that rejoin;
// a foreach body sits in a dashed frame; goto is a dashed edge to a sibling step, routed on the right.
"use strict";

const Graph = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const NW = 180, NH = 44, VGAP = 26, HGAP = 22, LABEL = 20, JOIN = 10, PAD = 24, EMPTY_W = 70;

  function svg(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function clip(text, max) {
    text = String(text || "");
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  // measure(list) -> block {w, h, place(x, y, ctx) -> {exit: point|null}}
  function measureList(steps) {
    const blocks = steps.map(measureStep);
    if (!blocks.length) {
      return { w: EMPTY_W, h: 8, empty: true, place(x, y) { return { entry: { x: x + EMPTY_W / 2, y }, exit: { x: x + EMPTY_W / 2, y: y + 8 } }; } };
    }
    const w = Math.max(...blocks.map((b) => b.w));
    const h = blocks.reduce((s, b) => s + b.h, 0) + VGAP * (blocks.length - 1);
    return {
      w, h,
      place(x, y, ctx) {
        const scope = { names: {}, parent: ctx.scope };
        const local = Object.assign({}, ctx, { scope, right: x + w });
        let prev = null, cy = y, entry = null;
        for (const b of blocks) {
          const r = b.place(x + (w - b.w) / 2, cy, local);
          if (!entry) entry = r.entry;
          if (prev) ctx.edge(prev, r.entry, "edge");
          prev = r.exit;
          cy += b.h + VGAP;
        }
        return { entry, exit: prev };
      },
    };
  }

  function measureStep(node) {
    if (!node.blocks || !node.blocks.length) return measureLeaf(node);
    const isCatch = node.kind === "catch";
    const branches = node.blocks.map((b) => ({ def: b, body: measureList(b.steps) }));
    if (isCatch) branches.unshift({ def: { label: "succeeded", steps: [], goto: null }, body: measureList([]) });
    const inner = branches.reduce((s, b) => s + Math.max(b.body.w, textW(b.def.label)), 0) + HGAP * (branches.length - 1);
    const frame = node.kind === "foreach" ? 16 : 0;
    const w = Math.max(NW, inner + 2 * frame);
    const bodyH = Math.max(...branches.map((b) => b.body.h));
    const h = NH + VGAP + LABEL + bodyH + VGAP + JOIN + frame;
    return {
      w, h,
      place(x, y, ctx) {
        const head = placeNode(node, x + (w - NW) / 2, y, ctx);
        const top = y + NH + VGAP;
        if (frame) ctx.layer.append(svg("rect", { class: "frame", x: x + 2, y: top - 8, width: w - 4, height: LABEL + bodyH + 16, rx: 8 }));
        const joinY = top + LABEL + bodyH + VGAP;
        const join = { x: x + w / 2, y: joinY };
        let bx = x + (w - inner) / 2, joined = 0;
        for (const b of branches) {
          const bw = Math.max(b.body.w, textW(b.def.label));
          const cx = bx + bw / 2;
          ctx.layer.append(svg("text", { class: "branch-label", x: cx, y: top + 12, "text-anchor": "middle" }, clip(b.def.label, 40)));
          const r = b.body.place(bx + (bw - b.body.w) / 2, top + LABEL, ctx);
          ctx.edge(head.exit, r.entry, "edge", "fork");
          const lastFalls = b.def.steps.length === 0 || b.def.steps[b.def.steps.length - 1].falls;
          if (b.def.goto) ctx.goto(r.exit || head.exit, b.def.goto, ctx.scope, ctx.right);
          else if (lastFalls && r.exit) { ctx.edge(r.exit, join, "edge", "join"); joined++; }
          bx += bw + HGAP;
        }
        if (!joined) return { entry: head.entry, exit: null };
        ctx.layer.append(svg("circle", { class: "join", cx: join.x, cy: join.y + JOIN / 2, r: JOIN / 2 }));
        return { entry: head.entry, exit: node.falls ? { x: join.x, y: join.y + JOIN } : null };
      },
    };
  }

  function textW(label) { return Math.min(40, String(label || "").length) * 6.5 + 10; }

  function measureLeaf(node) {
    return {
      w: NW, h: NH,
      place(x, y, ctx) {
        const r = placeNode(node, x, y, ctx);
        return { entry: r.entry, exit: node.falls ? r.exit : null };
      },
    };
  }

  function placeNode(node, x, y, ctx) {
    const g = svg("g", {
      class: "node t-" + node.type, "data-path": node.path, "data-step": node.name, "data-status": "not-reached",
      tabindex: "0", role: "button", "aria-label": node.type + " step " + node.name,
      transform: "translate(" + x + "," + y + ")",
    });
    g.append(svg("title", {}, node.name + " (" + node.type + ")"));
    const shape = node.type === "choice"
      ? svg("polygon", { class: "shape", points: [[12, 0], [NW - 12, 0], [NW, NH / 2], [NW - 12, NH], [12, NH], [0, NH / 2]].join(" ") })
      : svg("rect", { class: "shape", width: NW, height: NH, rx: node.type === "task" ? 6 : 14 });
    g.append(shape);
    g.append(svg("text", { class: "name", x: NW / 2, y: 18, "text-anchor": "middle" }, clip(node.name, 26)));
    g.append(svg("text", { class: "sub", x: NW / 2, y: 34, "text-anchor": "middle" }, clip(node.detail || node.type, 30)));
    ctx.layer.append(g);
    ctx.nodes[node.path] = g;
    ctx.scope.names[node.name] = { x, y, g };
    return { entry: { x: x + NW / 2, y }, exit: { x: x + NW / 2, y: y + NH } };
  }

  function terminal(layer, cx, y, label) {
    const g = svg("g", { class: "terminal", "data-terminal": label });
    g.append(svg("ellipse", { cx, cy: y + 16, rx: 42, ry: 16 }));
    g.append(svg("text", { x: cx, y: y + 21, "text-anchor": "middle" }, label));
    layer.append(g);
    return { entry: { x: cx, y }, exit: { x: cx, y: y + 32 } };
  }

  // render(container, graph, {onSelect}) -> {setStates(nodes), select(path), nodes}
  function render(container, graph, opts) {
    const t0 = performance.now();
    container.textContent = "";
    const edges = svg("g", { class: "edges" });
    const layer = svg("g", { class: "nodes" });
    const nodes = {};
    const gotos = [];
    const ctx = {
      layer, nodes, gotos, scope: { names: {}, parent: null },
      // Forks bend just under their source, joins just above their target, so lines skirt other boxes.
      edge(a, b, cls, bend) {
        if (!a || !b) return;
        const midY = bend === "join" ? b.y - 8 : bend === "fork" ? a.y + 10 : (a.y + b.y) / 2;
        const d = a.x === b.x ? `M${a.x},${a.y} L${b.x},${b.y - 3}` : `M${a.x},${a.y} L${a.x},${midY} L${b.x},${midY} L${b.x},${b.y - 3}`;
        edges.append(svg("path", { class: cls, d, "marker-end": "url(#arrow)" }));
      },
      // goto names a sibling of the choice/task step: resolved once every step has a position.
      goto(from, name, scope, right) { if (from) gotos.push({ from, name, scope, right }); },
    };
    const body = measureList(graph.steps || []);
    const width = Math.max(body.w, NW) + 2 * PAD + 80;
    const cx = PAD + Math.max(body.w, NW) / 2;
    const start = terminal(layer, cx, PAD, "Start");
    const r = body.place(cx - body.w / 2, PAD + 32 + VGAP, ctx);
    const endY = PAD + 32 + VGAP + body.h + VGAP;
    const end = terminal(layer, cx, endY, "End");
    ctx.edge(start.exit, r.entry, "edge");
    if (r.exit) ctx.edge(r.exit, end.entry, "edge");
    let lane = 0;
    for (const gt of gotos) {
      let s = gt.scope, target = null;
      while (s && !target) { target = s.names[gt.name]; s = s.parent; }
      if (!target) continue;
      const laneX = (gt.right || cx + body.w / 2) + 14 + (lane++ % 4) * 8;
      const ty = target.y + NH / 2, tx = target.x + NW;
      const d = `M${gt.from.x},${gt.from.y} L${gt.from.x},${gt.from.y + 8} L${laneX},${gt.from.y + 8} L${laneX},${ty} L${tx + 3},${ty}`;
      edges.append(svg("path", { class: "edge goto", d, "data-goto": gt.name, "marker-end": "url(#arrow)" }));
    }
    const height = endY + 32 + PAD;
    const root = svg("svg", { class: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-label": "Flow graph" });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "8", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }));
    defs.append(marker);
    root.append(defs, edges, layer);
    container.append(root);
    let selected = null;
    function select(path) {
      if (selected) selected.classList.remove("selected");
      selected = nodes[path] || null;
      if (selected) selected.classList.add("selected");
      if (opts && opts.onSelect) opts.onSelect(path);
    }
    for (const [path, g] of Object.entries(nodes)) {
      g.addEventListener("click", () => select(path));
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(path); }
      });
    }
    function setStates(states) {
      for (const [path, g] of Object.entries(nodes)) {
        const st = states[path];
        const status = st ? st.status : "not-reached";
        g.setAttribute("data-status", status);
        const sub = g.querySelector("text.sub");
        const base = g.getAttribute("data-sub") || sub.textContent;
        g.setAttribute("data-sub", base);
        let label = base;
        if (st && (status === "failed" || status === "caught") && st.error) label = "✖ " + st.error;
        else if (st && st.runs > 1) label = base + " ×" + st.runs;
        sub.textContent = clip(label, 30);
        g.querySelector("title").textContent = g.getAttribute("data-step") + ": " + status +
          (st && st.error ? " — " + st.error + (st.cause ? ": " + st.cause : "") : "");
      }
    }
    const ms = performance.now() - t0;
    return { setStates, select, nodes, renderMs: ms, svg: root };
  }

  return { render };
})();
