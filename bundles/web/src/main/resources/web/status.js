// The status page: polls api/status every 2 s and renders the nodes, the in-doubt transactions and two charts.
(function () {
  "use strict";
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];
  let rateChart = null;
  let lagChart = null;
  let lagPeers = "";

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function cell(row, value, cls) {
    const td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function stateClass(state) {
    return "state state-" + String(state).replace(/[^a-z]/g, "");
  }

  function renderNodes(doc) {
    const body = document.querySelector("#nodes tbody");
    body.replaceChildren();
    for (const n of doc.nodes || []) {
      const tr = document.createElement("tr");
      tr.id = "node-" + n.id;
      tr.dataset.node = n.id;
      cell(tr, n.id + (n.self ? " (this node)" : ""));
      cell(tr, n.state, stateClass(n.state)).id = "node-" + n.id + "-state";
      cell(tr, n.member ? "yes" : "no");
      cell(tr, n.receiverMode);
      cell(tr, n.conninfo, "muted");
      body.appendChild(tr);
    }
  }

  function renderInDoubt(doc) {
    const body = document.querySelector("#in-doubt tbody");
    body.replaceChildren();
    for (const d of doc.inDoubt || []) {
      const tr = document.createElement("tr");
      cell(tr, d.gid);
      cell(tr, d.origin);
      cell(tr, d.generation);
      cell(tr, d.state);
      cell(tr, (d.ageMs / 1000).toFixed(1) + " s");
      body.appendChild(tr);
    }
    document.getElementById("in-doubt-none").hidden = (doc.inDoubt || []).length > 0;
  }

  function width() {
    return Math.max(400, Math.min(1000, document.body.clientWidth - 40));
  }

  function renderCharts(doc) {
    if (typeof uPlot === "undefined") return;
    const c = doc.charts;
    const rateData = [c.time, c.commitsPerSecond, c.appliedPerSecond];
    if (!rateChart) {
      rateChart = new uPlot({
        width: width(), height: 200,
        series: [{}, { label: "committed here", stroke: PALETTE[0] }, { label: "applied from peers", stroke: PALETTE[1] }],
      }, rateData, document.getElementById("rate-chart"));
    } else {
      rateChart.setData(rateData);
    }
    const peers = Object.keys(c.lagBytes);
    const lagData = [c.time].concat(peers.map((p) => c.lagBytes[p]));
    if (!lagChart || peers.join(",") !== lagPeers) {
      if (lagChart) lagChart.destroy();
      lagPeers = peers.join(",");
      lagChart = new uPlot({
        width: width(), height: 200,
        series: [{}].concat(peers.map((p, i) => ({ label: "node " + p, stroke: PALETTE[i % PALETTE.length] }))),
      }, lagData, document.getElementById("lag-chart"));
    } else {
      lagChart.setData(lagData);
    }
  }

  function render(doc) {
    if (!doc.initialised) {
      text("self-status", "not initialised");
      text("generation", "no cluster yet (mtm.init_cluster)");
    } else {
      const s = doc.self;
      text("self-id", s.id);
      const status = document.getElementById("self-status");
      status.textContent = s.status;
      status.className = stateClass(s.status);
      text("generation", "generation " + s.generation + ": members {" + s.members.join(",") + "}, online {"
        + s.membersOnline.join(",") + "}, configured {" + s.configured.join(",") + "}, connected {"
        + s.connected.join(",") + "}");
      const recovery = document.getElementById("recovery");
      recovery.textContent = s.recovery || "";
      recovery.hidden = !s.recovery;
      const differ = document.getElementById("settings-differ");
      differ.replaceChildren();
      for (const d of s.settingsDiffer || []) {
        const li = document.createElement("li");
        li.textContent = "org.mtm.multimaster differs: " + d;
        differ.appendChild(li);
      }
      differ.hidden = !(s.settingsDiffer || []).length;
    }
    renderNodes(doc);
    renderInDoubt(doc);
    renderCharts(doc);
    text("updated", "updated " + new Date(doc.time).toISOString());
    document.body.dataset.loaded = "true";
  }

  function refresh() {
    fetch("api/status", { cache: "no-store" })
      .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch((e) => text("updated", "cannot reach this node: " + e.message));
  }

  refresh();
  setInterval(refresh, 2000);
})();
