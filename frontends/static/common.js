// Shared by every page: tokens, the API through this server's proxy, live streams, words.
"use strict";
const FD = (() => {
  const params = new URLSearchParams(location.search);

  // The page's bearer token: ?token=… or sessionStorage (the platform's sign-in puts it
  // there), else — in development only — one minted by this server for the page's role.
  async function token(role, sub) {
    const given = params.get("token");
    if (given) return given;
    const key = `frontdesk.token.${role}.${sub}`;
    const kept = sessionStorage.getItem(key);
    if (kept) return kept;
    const response = await fetch("/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ role, sub }),
    });
    if (!response.ok) throw new Error("sign in first (no development tokens here)");
    const minted = (await response.json()).token;
    sessionStorage.setItem(key, minted);
    return minted;
  }

  async function api(method, service, path, bearer, body, idempotencyKey) {
    const headers = { Authorization: `Bearer ${bearer}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const response = await fetch(`/api/${service}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail || `${response.status}`);
    return answer;
  }

  // A server-sent event stream of one live view. The browser's EventSource reconnects by
  // itself with Last-Event-ID; when it gives up (an error answer), we reopen with the last
  // id in the query. drop()/resume() let a test (or a flaky network) cut it on purpose.
  function live(service, path, bearer, event, onView, onState) {
    const stream = { lastId: null, source: null, opened: 0, dropped: false };
    function open() {
      const query = new URLSearchParams({ access_token: bearer });
      if (stream.lastId) query.set("last_event_id", stream.lastId);
      const source = new EventSource(`/api/${service}${path}?${query}`);
      stream.source = source;
      stream.opened += 1;
      source.addEventListener(event, (message) => {
        stream.lastId = message.lastEventId;
        onView(JSON.parse(message.data));
      });
      source.onopen = () => onState && onState("live");
      source.onerror = () => {
        onState && onState("reconnecting");
        if (source.readyState === EventSource.CLOSED && !stream.dropped) {
          setTimeout(() => stream.source === source && open(), 2000);
        }
      };
    }
    stream.drop = () => { stream.dropped = true; stream.source.close(); onState && onState("offline"); };
    stream.resume = () => { stream.dropped = false; open(); };
    open();
    return stream;
  }

  function time(iso, lang) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString(lang || undefined, { hour: "2-digit", minute: "2-digit" });
  }

  function addMinutes(iso, minutes) {
    return new Date(new Date(iso).getTime() + minutes * 60000).toISOString();
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(node, text) { node.textContent = text; }

  const QUEUES = {
    account_security: { en: "Account security", "zh-CN": "账号安全" },
    wallet_payments: { en: "Wallet & payments", "zh-CN": "钱包与支付" },
    minors_family: { en: "Minors & family", "zh-CN": "未成年人与家庭" },
    commerce_disputes: { en: "Commerce disputes", "zh-CN": "交易纠纷" },
    general: { en: "General", "zh-CN": "综合业务" },
  };

  function queueName(queue, lang) {
    const names = QUEUES[queue];
    return names ? names[lang] || names.en : queue;
  }

  function language(fallback) {
    const asked = params.get("lang");
    if (asked === "en" || asked === "zh-CN") return asked;
    if (fallback) return fallback;
    return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  }

  return { params, token, api, live, time, addMinutes, el, say, queueName, language, QUEUES };
})();
