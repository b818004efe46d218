// Reception: confirm the screening, issue a walk-in ticket, show its number and the range.
"use strict";
(async () => {
  const site = FD.params.get("site") || "shenzhen-01";
  const staff = FD.params.get("staff") || `reception-${site}`;
  const $ = (id) => document.getElementById(id);
  const state = { ticket: null };
  window.frontdesk = state;
  // the form is handled from the start: a ticket asked for while the token is on its way
  // waits for it (a form nobody handled yet would be sent as a page load, and lost)
  const bearer = FD.token("agent", staff);
  bearer.catch((error) => { $("error").textContent = error.message; });

  $("issue").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").textContent = "";
    $("submit").disabled = true;
    const [tag, dialect] = $("language").value.split("|");
    const body = {
      site_id: site,
      channel: "walk_in",
      screening_confirmed: $("screening").checked,
      intake: {
        problem_category: $("category").value,
        account_ref: $("account").value.trim(),
        language: dialect ? { tag, dialect } : { tag },
        accessibility_needs: $("accessibility").checked ? ["elderly"] : [],
      },
    };
    const customer = $("customer").value.trim();
    if (customer) body.customer_id = customer;
    try {
      const ticket = await FD.api("POST", "checkin", "/tickets", await bearer, body, crypto.randomUUID());
      state.ticket = ticket;
      $("number").textContent = ticket.number;
      $("queue").textContent = `${FD.queueName(ticket.queue, "zh-CN")} · ${FD.queueName(ticket.queue, "en")}`;
      const e = ticket.estimate;
      $("range").textContent = e
        ? `预计等候 ${e.low_minutes}–${e.high_minutes} 分钟 · expected wait ${e.low_minutes}–${e.high_minutes} min (${e.ahead} ahead)`
        : "";
      const link = $("myplace");
      link.hidden = !customer;
      link.href = `ticket.html?ticket=${ticket.ticket_id}&customer=${encodeURIComponent(customer)}`;
      $("result").hidden = false;
      $("issue").reset();
      $("number").focus?.();
    } catch (error) {
      $("error").textContent = error.message;
    } finally {
      $("submit").disabled = false;
    }
  });
})();
