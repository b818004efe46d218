// The customer's "my place": their own ticket, pushed (position, the wait's honest range,
// "you're next", "it's your turn at desk N", a callback kept), in their own language.
"use strict";
(async () => {
  const ticketId = FD.params.get("ticket");
  const customer = FD.params.get("customer") || "customer";
  const W = {
    en: {
      title: "My place", live: "Live", reconnecting: "Reconnecting…", offline: "Offline",
      position: (n) => (n === 1 ? "You are first in line." : `Position ${n}: ${n - 1} ahead of you.`),
      range: (lo, hi, from, to) => `Expected wait: ${lo}–${hi} min (about ${from}–${to}).`,
      next: "You're next — please stay close to the desks.",
      called: (desk) => `It's your turn: please go to desk ${desk}.`,
      serving: (desk) => `Being served at desk ${desk}.`,
      ended: { completed: "Served. Thank you!", left: "You left the queue.", no_show: "Your number was missed." },
      parked: "Your place is kept while you step away.",
      callback: "We will call you back; your place is kept.",
      leave: "Leave the queue", ask: "Call me back instead",
      sureLeave: "Leave the queue?",
    },
    "zh-CN": {
      title: "我的排队", live: "实时", reconnecting: "重新连接…", offline: "离线",
      position: (n) => (n === 1 ? "您排在第一位。" : `您排在第 ${n} 位，前面还有 ${n - 1} 人。`),
      range: (lo, hi, from, to) => `预计等候 ${lo}–${hi} 分钟（约 ${from}–${to}）。`,
      next: "下一位就是您，请在窗口附近等候。",
      called: (desk) => `轮到您了：请到 ${desk} 号窗口。`,
      serving: (desk) => `正在 ${desk} 号窗口办理。`,
      ended: { completed: "办理完毕，谢谢！", left: "您已离开队列。", no_show: "您的号码已过号。" },
      parked: "您暂时离开，位置为您保留。",
      callback: "我们会给您回电，位置为您保留。",
      leave: "离开队列", ask: "改为回电",
      sureLeave: "确定离开队列吗？",
    },
  };
  let lang = FD.language();
  const select = document.getElementById("lang");
  select.value = lang;
  const state = { view: null, status: "offline" };
  window.frontdesk = state;
  const $ = (id) => document.getElementById(id);

  function render() {
    const w = W[lang];
    document.documentElement.lang = lang;
    $("title").textContent = w.title;
    $("status").dataset.state = state.status;
    $("status").textContent = w[state.status];
    $("leave").textContent = w.leave;
    $("ask-callback").textContent = w.ask;
    const v = state.view;
    if (!v) return;
    $("number").textContent = v.number;
    $("queue").textContent = FD.queueName(v.queue, lang);
    const turn = $("turn");
    turn.dataset.status = v.status;
    turn.dataset.desk = v.desk_id || "";
    turn.textContent = v.status === "called" ? w.called(v.desk_id)
      : v.status === "serving" ? w.serving(v.desk_id)
      : v.next ? w.next
      : v.status === "parked" ? w.parked
      : w.ended[v.status] || "";
    $("position").textContent = v.status === "waiting" && v.position ? w.position(v.position) : "";
    const e = v.estimate;
    $("range").textContent = e ? w.range(e.low_minutes, e.high_minutes,
      FD.time(FD.addMinutes(e.estimated_at, e.low_minutes), lang),
      FD.time(FD.addMinutes(e.estimated_at, e.high_minutes), lang)) : "";
    $("callback").textContent = v.callback_requested ? w.callback : "";
    const active = ["waiting", "parked"].includes(v.status);
    $("leave").disabled = !active;
    $("ask-callback").disabled = !active || v.callback_requested;
  }
  select.addEventListener("change", () => { lang = select.value; render(); });

  let bearer;
  async function act(path) {
    $("error").textContent = "";
    try { await FD.api("POST", "checkin", `/tickets/${ticketId}/${path}`, bearer, {}); }
    catch (error) { $("error").textContent = error.message; }
  }
  $("leave").addEventListener("click", () => { if (confirm(W[lang].sureLeave)) act("leave"); });
  $("ask-callback").addEventListener("click", () => act("callback"));

  render();
  if (!ticketId) { $("error").textContent = "?ticket= is missing"; return; }
  try {
    bearer = await FD.token("customer", customer);
    state.stream = FD.live("checkin", `/tickets/${ticketId}/live`, bearer, "ticket",
      (view) => { state.view = view; render(); },
      (s) => { state.status = s; render(); });
  } catch (error) { $("error").textContent = error.message; }
})();
