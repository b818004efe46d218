// The agent's console: sign in at a desk, call next, recall, start, park, transfer, complete;
// the remote contacts assigned; the case of the selected ticket with its rule, verification
// status and next step (cases and verification APIs). Pushed by the agent's console stream.
"use strict";
(async () => {
  const agent = FD.params.get("agent") || "agent-1";
  const $ = (id) => document.getElementById(id);
  const state = { view: null, selected: null, case: null };
  window.frontdesk = state;
  $("agent").textContent = agent;
  $("site").value = FD.params.get("site") || "shenzhen-01";
  $("desk").value = FD.params.get("desk") || "";
  // the buttons and the sign-in form are handled from the start: what is asked for while the
  // token is on its way waits for it (a form nobody handled yet would be sent as a page load)
  const bearer = FD.token("agent", agent).catch((error) => { $("error").textContent = error.message; });
  const A = `/agents/${encodeURIComponent(agent)}`;

  async function run(method, service, path, body) {
    $("error").textContent = "";
    try { return await FD.api(method, service, path, await bearer, body); }
    catch (error) { $("error").textContent = error.message; return null; }
  }

  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    run("POST", "checkin", `${A}/sign-in`, { site_id: $("site").value.trim(), desk_id: $("desk").value.trim() });
  });
  $("call-next").addEventListener("click", async () => {
    const called = await run("POST", "checkin", `${A}/call-next`);
    if (called === null && !$("error").textContent) $("error").textContent = "Nobody you may serve is waiting.";
    if (called) select(called.ticket_id);
  });
  $("break").addEventListener("click", () => run("POST", "checkin", `${A}/break`, {}));
  $("resume").addEventListener("click", () => run("POST", "checkin", `${A}/resume`));
  $("sign-out").addEventListener("click", () => run("POST", "checkin", `${A}/sign-out`));

  const QUEUE_OPTIONS = Object.keys(FD.QUEUES);
  function ticketCard(t) {
    const T = `/tickets/${t.ticket_id}`;
    const transfer = FD.el("select", { "aria-label": `Transfer ${t.number} to` },
      QUEUE_OPTIONS.map((q) => FD.el("option", { value: q }, FD.queueName(q, "en"))));
    return FD.el("div", { class: "panel", "data-ticket": t.ticket_id, "data-number": t.number },
      FD.el("p", {}, FD.el("strong", { style: "font-size:1.6rem" }, t.number), ` · ${FD.queueName(t.queue, "en")} · ${t.channel} · ${t.status}`,
        t.recalls ? ` · recalled ${t.recalls}×` : ""),
      FD.el("button", { type: "button", onclick: () => select(t.ticket_id) }, "Show case"),
      t.status === "called" ? FD.el("button", { type: "button", onclick: () => run("POST", "checkin", `${T}/start`) }, "Start serving") : null,
      t.status === "called" ? FD.el("button", { type: "button", class: "secondary", onclick: () => run("POST", "checkin", `${T}/recall`) }, "Recall") : null,
      t.status === "called" ? FD.el("button", { type: "button", class: "secondary", onclick: () => run("POST", "checkin", `${T}/no-show`) }, "No-show") : null,
      FD.el("button", { type: "button", class: "secondary", onclick: () => run("POST", "checkin", `${T}/park`, {}) }, "Park"),
      transfer,
      FD.el("button", { type: "button", class: "secondary", onclick: () => run("POST", "checkin", `${T}/transfer`, { to_queue: transfer.value }) }, "Transfer"),
      t.status === "serving" ? FD.el("button", { type: "button", onclick: () => run("POST", "checkin", `${T}/complete`, {}) }, "Complete") : null);
  }

  function render(view) {
    state.view = view;
    $("where").textContent = view.status === "unknown" ? "No profile yet (a supervisor sets your queues)."
      : view.desk_id ? `${view.status} at ${view.site_id}, desk ${view.desk_id}` : view.status;
    $("tickets").replaceChildren(...(view.tickets.length ? view.tickets.map(ticketCard) : [FD.el("p", { class: "status" }, "Nobody at your desk.")]));
    $("contacts").replaceChildren(...(view.contacts.length ? view.contacts.map(ticketCard) : [FD.el("p", { class: "status" }, "No remote contact assigned.")]));
    $("queues").replaceChildren(...view.queues.map((q) => FD.el("tr", {},
      FD.el("td", {}, FD.queueName(q.queue, "en")), FD.el("td", {}, q.waiting), FD.el("td", {}, FD.time(q.oldest_issued_at)))));
    $("parked").replaceChildren(...(view.parked.length ? view.parked.map((p) => FD.el("p", {}, `${p.number} · ${FD.queueName(p.queue, "en")} `,
      FD.el("button", { type: "button", class: "secondary", onclick: () => run("POST", "checkin", `/tickets/${p.ticket_id}/return`) }, "Back in place"))) : [FD.el("p", { class: "status" }, "None.")]));
    if (!state.selected && view.tickets.length) select(view.tickets[0].ticket_id);
  }

  async function select(ticketId) {
    state.selected = ticketId;
    const box = $("case");
    box.replaceChildren(FD.el("p", { class: "status" }, "Loading the case…"));
    const cases = await run("GET", "cases", `/cases?ticket_id=${ticketId}`);
    if (!cases || !cases.length) { box.replaceChildren(FD.el("p", { class: "status" }, "No case for this ticket yet.")); return; }
    const c = cases[0];
    state.case = c;
    const plan = await FD.api("GET", "verification", `/verification/case-plans/${c.case_id}`, await bearer).catch(() => null);
    const rules = (c.suspensions || []).map((s) => FD.el("li", {},
      `${s.rule_code || s.code || "rule"} v${s.rule_version || s.version || "?"}`, s.threshold ? ` · threshold ${JSON.stringify(s.threshold)}` : "",
      s.explanation ? ` — ${typeof s.explanation === "string" ? s.explanation : JSON.stringify(s.explanation)}` : ""));
    box.replaceChildren(...[
      FD.el("p", {}, FD.el("strong", {}, c.case_type), ` · ${c.status} · ${c.problem_category}`),
      FD.el("p", { "data-field": "next-step" }, FD.el("strong", {}, "Next step: "), c.next_step),
      FD.el("h3", {}, "Rule"), rules.length ? FD.el("ul", {}, rules) : FD.el("p", { class: "status" }, "No platform rule linked."),
      c.decision ? FD.el("p", {}, FD.el("strong", {}, "Decision: "), `${c.decision.outcome || ""} · ${c.decision.reason_code || ""}`) : null,
      FD.el("h3", {}, "Verification"),
      FD.el("p", { "data-field": "required-checks" }, plan ? `Required: ${plan.required_checks.join(", ") || "none"}` : "No plan."),
      FD.el("ul", {}, (c.verifications || []).map((v) => FD.el("li", {}, `${v.purpose || v.verification_id || "check"}: ${v.status || v.outcome || "pending"}`))),
    ].filter(Boolean));
  }

  FD.live("checkin", `${A}/live`, await bearer, "console", render, (s) => {
    $("status").dataset.state = s; $("status").textContent = s;
  });
})();
