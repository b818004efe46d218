// The display board: numbers and desks only, pushed by the board stream; a chime (Web Audio,
// no sound file) and a spoken-text announcement for each call, including calls made while
// the screen was disconnected (they are in the view it gets when it resumes).
"use strict";
(async () => {
  const site = FD.params.get("site") || "shenzhen-01";
  const state = { announced: new Set(), first: true, chimes: 0, calls: [], view: null };
  window.frontdesk = state;
  document.getElementById("site").textContent = site;
  const status = document.getElementById("status");
  const words = { live: "实时 · live", reconnecting: "重新连接 · reconnecting", offline: "离线 · offline" };

  let audio = null;
  const sound = document.getElementById("sound");
  sound.addEventListener("click", () => {
    audio = audio || new AudioContext();
    audio.resume();
    sound.setAttribute("aria-pressed", "true");
    sound.textContent = "提示音已开启 · Sound on ✓";
  });

  function chime() {
    state.chimes += 1;
    try {
      audio = audio || new AudioContext();
      const start = audio.currentTime + 0.02;
      [[880, 0], [659.25, 0.45]].forEach(([frequency, offset]) => {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.type = "sine";
        tone.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.6);
        tone.connect(gain).connect(audio.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.65);
      });
    } catch (error) { /* no audio device: the screen still flashes */ }
  }

  function key(call) { return `${call.number}|${call.desk_id}|${call.called_at}|${call.recalls}`; }

  function render(view) {
    state.view = view;
    const fresh = [];
    for (const call of view.now_serving) {
      if (!state.announced.has(key(call))) {
        state.announced.add(key(call));
        if (!state.first) fresh.push(call);
      }
    }
    state.first = false;
    const list = document.getElementById("serving");
    list.replaceChildren(...view.now_serving.map((call) =>
      FD.el("li", {
        class: fresh.includes(call) ? "call fresh" : "call",
        "data-number": call.number, "data-desk": call.desk_id,
      },
      FD.el("span", { class: "number" }, call.number),
      FD.el("span", { class: "arrow", "aria-hidden": "true" }, "→"),
      FD.el("span", { class: "desk" },
        FD.el("span", { lang: "zh-CN" }, `${call.desk_id} 号窗口`),
        FD.el("span", { lang: "en" }, `desk ${call.desk_id}`)))));
    if (!view.now_serving.length) list.replaceChildren(FD.el("li", { class: "empty" }, "— 暂无 · none yet —"));
    document.getElementById("queues").replaceChildren(...view.queues.map((queue) =>
      FD.el("div", { class: "queue", "data-queue": queue.queue },
        FD.el("div", { class: "name" }, FD.queueName(queue.queue, "zh-CN"), " · ",
          FD.el("span", { lang: "en" }, FD.queueName(queue.queue, "en"))),
        FD.el("div", {}, `等候 ${queue.waiting} 人 · `, FD.el("span", { lang: "en" }, `${queue.waiting} waiting`)),
        queue.next_up.length ? FD.el("div", {}, "下一位 · ", FD.el("span", { lang: "en" }, "next: "),
          FD.el("span", { class: "next" }, queue.next_up.join("  "))) : null)));
    for (const call of fresh) {
      state.calls.push(`${call.number} → desk ${call.desk_id}`);
      chime();
      FD.say(document.getElementById("announce"),
        `请 ${call.number} 号到 ${call.desk_id} 号窗口。 Number ${call.number}, please go to desk ${call.desk_id}.`);
    }
  }

  try {
    const bearer = await FD.token("service", `board-${site}`);
    state.stream = FD.live("checkin", `/sites/${encodeURIComponent(site)}/board/live`, bearer, "board", render,
      (s) => { status.dataset.state = s; status.textContent = words[s]; });
  } catch (error) {
    status.textContent = String(error.message || error);
  }
})();
