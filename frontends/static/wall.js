// The supervisor's wall: queues, longest wait, service level, agents (pushed by the dashboard
// stream) and the callbacks promised per queue (notifications API, refreshed every 30 s).
"use strict";
(async () => {
  const site = FD.params.get("site") || "shenzhen-01";
  const supervisor = FD.params.get("supervisor") || "supervisor-1";
  const $ = (id) => document.getElementById(id);
  const state = { view: null, promises: {} };
  window.frontdesk = state;
  $("site").textContent = site;
  const bearer = await FD.token("supervisor", supervisor);
  const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);

  function render(view) {
    state.view = view;
    const a = view.agents;
    $("agents").textContent = `Agents: ${a.available} available · ${a.serving} serving · ${a.on_break} on break`;
    $("queues").replaceChildren(...view.queues.map((q) => FD.el("tr", { "data-queue": q.queue },
      FD.el("td", {}, FD.queueName(q.queue, "en")), FD.el("td", {}, q.channel), FD.el("td", {}, q.waiting),
      FD.el("td", { style: q.longest_wait_minutes > q.service_level_target_minutes ? "color: var(--bad); font-weight: 700" : null }, `${q.longest_wait_minutes} min`),
      FD.el("td", {}, `${pct(q.service_level)} (target ${q.service_level_target_minutes} min)`),
      FD.el("td", {}, q.served_today), FD.el("td", {}, pct(q.abandonment_rate)),
      FD.el("td", {}, `${q.agents_available} / ${q.agents_serving}`))));
  }

  async function promises() {
    const now = Date.now();
    const rows = [];
    for (const queue of Object.keys(FD.QUEUES)) {
      const due = await FD.api("GET", "notifications", `/queues/${queue}/callbacks`, bearer).catch(() => null);
      if (!due) continue;
      const times = due.map((c) => c.due_at || c.window_end).filter(Boolean).sort();
      state.promises[queue] = due.length;
      rows.push(FD.el("tr", {}, FD.el("td", {}, FD.queueName(queue, "en")), FD.el("td", {}, due.length),
        FD.el("td", {}, times.filter((t) => new Date(t).getTime() < now).length),
        FD.el("td", {}, times.length ? FD.time(times[0]) : "—")));
    }
    $("promises").replaceChildren(...rows);
  }

  FD.live("checkin", `/sites/${encodeURIComponent(site)}/dashboard/live`, bearer, "dashboard", render, (s) => {
    $("status").dataset.state = s; $("status").textContent = s;
  });
  promises();
  setInterval(promises, 30000);
})();
