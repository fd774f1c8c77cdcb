// The live approval queue. Everything from models and tools goes into the page through
// textContent only, so a payload such as <img src=x onerror=...> shows as text.
(function () {
  "use strict";
  const rows = document.getElementById("queue-rows");
  const statusLine = document.getElementById("queue-status");
  const liveState = document.getElementById("live-state");
  const me = JSON.parse(document.getElementById("queue-me").textContent);
  const csrf = document.querySelector("#csrf-form [name=csrfmiddlewaretoken]").value;
  const items = new Map();
  const lookers = new Map(); // user -> {request, at}
  let selectedId = null;
  const DONE = { approve: "approved", reject: "rejected", cancel: "cancelled", done: "closed as done" };
  let socket = null;

  for (const item of JSON.parse(document.getElementById("queue-initial").textContent)) items.set(item.id, item);

  function ordered() {
    return [...items.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function countdown(item) {
    const due = item.autosend_at || item.expires_at;
    if (item.status === "outcome_unknown") return "outcome unknown";
    if (!due) return item.tier === "critical" ? "a person must act" : "—";
    const seconds = Math.max(0, Math.round((Date.parse(due) - Date.now()) / 1000));
    const label = item.autosend_at ? "runs in " : "expires in ";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return label + (m ? m + "m " : "") + s + "s";
  }

  function lookingAt(id) {
    const now = Date.now();
    return [...lookers.entries()]
      .filter(([user, look]) => look.request === id && now - look.at < 30000 && user !== me)
      .map(([user]) => user);
  }

  function render() {
    const list = ordered();
    // A decided request leaves; the selection then moves to the oldest still waiting.
    if (!selectedId || !items.has(selectedId)) selectedId = list.length ? list[0].id : null;
    rows.replaceChildren();
    for (const item of list) {
      const tr = document.createElement("tr");
      tr.dataset.id = item.id;
      if (item.id === selectedId) tr.classList.add("selected");
      if (item.escalated) tr.classList.add("escalated");
      if (item.changedFrom) tr.classList.add("changed");
      const tier = el("td"); tier.append(el("span", item.tier, "tier tier-" + item.tier));
      const tool = el("td", item.tool, "mono");
      if (item.changedFrom) tool.append(" ", el("span", "changed", "changed-badge"));
      tr.append(tier, tool, el("td", item.agent));
      const args = el("td"); args.append(el("pre", JSON.stringify(item.arguments, null, 1), "args")); tr.append(args);
      tr.append(el("td", countdown(item), "countdown"));
      tr.append(el("td", item.approvals + " / " + item.approvals_required));
      tr.append(el("td", lookingAt(item.id).join(", "), "lookers"));
      tr.addEventListener("click", () => select(item.id));
      rows.append(tr);
    }
    if (!list.length) {
      const tr = el("tr"); const td = el("td", "Nothing waits for a decision.", "empty"); td.colSpan = 7; tr.append(td); rows.append(tr);
    }
    document.getElementById("queue-count").textContent = list.length + " pending";
    renderDetail();
  }

  function tick() {
    for (const tr of rows.querySelectorAll("tr[data-id]")) {
      const item = items.get(tr.dataset.id);
      if (item) tr.querySelector(".countdown").textContent = countdown(item);
    }
  }

  // Why a tainted session's call is here: detector, score, the flagged text (as text) and its source.
  function renderTaint(taint) {
    const box = document.getElementById("detail-taint");
    box.hidden = !taint;
    if (!taint) return;
    const why = [];
    if (taint.suspicious) why.push("a detector fired in this session");
    else why.push("untrusted text is in this session's context");
    if (taint.taint_sources.length) why.push("sources: " + taint.taint_sources.join(", "));
    if (taint.unseen_addresses.length) why.push("addresses no trusted text holds: " + taint.unseen_addresses.join(", "));
    document.getElementById("detail-taint-summary").textContent = why.join("; ") + ".";
    const rows = document.getElementById("detail-detections");
    rows.replaceChildren();
    for (const detection of taint.detections) {
      const tr = document.createElement("tr");
      for (const [text, cls] of [[detection.source], [detection.detectors.join(", ")], [detection.score.toFixed(2), "num"], [detection.snippet, "mono snippet"]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      rows.append(tr);
    }
  }

  let detailFor = null;
  async function renderDetail() {
    const box = document.getElementById("detail");
    if (!selectedId) { box.hidden = true; detailFor = null; return; }
    const item = items.get(selectedId);
    box.hidden = false;
    document.getElementById("detail-title").textContent = item.tool + " · " + item.tier + " · v" + item.version;
    const link = document.getElementById("detail-task");
    link.textContent = item.task; link.href = "/tasks/" + encodeURIComponent(item.task) + "/";
    const evalCase = document.getElementById("detail-eval-case");
    if (evalCase) evalCase.href = "/evals/from-task/" + encodeURIComponent(item.task) + "/";
    document.getElementById("detail-policy").textContent =
      "version " + item.policy_version + (item.rule ? ", rule " + item.rule : ", the tool's default tier") +
      (item.policy_errors && item.policy_errors.length
        ? ". Raised to at least high because a condition failed: " + item.policy_errors.join("; ")
        : "");
    document.getElementById("detail-hash").textContent = item.hash;
    renderTaint(item.taint);
    document.getElementById("detail-critical").hidden = item.tier !== "critical";
    document.getElementById("detail-args").textContent = JSON.stringify(item.arguments, null, 2);
    document.getElementById("detail-outcome").hidden = item.status !== "outcome_unknown";
    document.getElementById("detail-sent").textContent = JSON.stringify(item.sent_request, null, 2);
    document.getElementById("detail-reasoning").textContent = item.reasoning || "—";
    const changed = document.getElementById("detail-changed");
    changed.hidden = !item.changedFrom;
    changed.textContent = item.changedFrom
      ? "Changed while you looked: these are the arguments of version " + item.version + " (you saw version " + item.changedFrom + ")."
      : "";
    if (detailFor === selectedId) return;
    detailFor = selectedId;
    const response = await fetch("/approvals/" + encodeURIComponent(selectedId) + "/context/", { credentials: "same-origin" });
    if (!response.ok || detailFor !== item.id) return;
    const context = await response.json();
    document.getElementById("detail-input").textContent = context.input;
    const steps = document.getElementById("detail-steps");
    steps.replaceChildren();
    for (const step of context.steps) {
      steps.append(el("li", (step.content || "(no text)") + (step.tool_calls.length ? "  → " + step.tool_calls.join(", ") : "")));
    }
  }

  function select(id) {
    selectedId = id;
    render();
    announceLooking();
  }

  function move(delta) {
    const list = ordered();
    if (!list.length) return;
    const index = list.findIndex((item) => item.id === selectedId);
    const next = Math.min(list.length - 1, Math.max(0, index + delta));
    select(list[index === -1 ? 0 : next].id);
  }

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = "queue-status" + (isError ? " error" : "");
  }

  // A reviewer's POST about one request (its decision or its outcome): the answer and its JSON body.
  async function post(id, action, payload) {
    const response = await fetch("/approvals/" + encodeURIComponent(id) + "/" + action + "/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload),
    });
    return { response: response, body: await response.json().catch(() => ({})) };
  }

  // Every decision names the version on screen: the server refuses any other (409).
  async function decide(decision, extra) {
    const item = items.get(selectedId);
    if (!item) return;
    // An edit's prompt shows the new arguments itself; a plain approve waits for one more press.
    if (decision === "approve" && item.unread && !(extra && extra.arguments)) {
      item.unread = false;
      say("The arguments changed to version " + item.version + ": read them, then press a again to approve.", true);
      return;
    }
    const { response, body } = await post(item.id, "decide",
      Object.assign({ decision: decision, version: item.version }, extra || {}));
    if (response.ok) {
      upsert(body.request, { own: true });
      say(decision + ": " + body.request.tool + " is now " + body.request.status);
      return;
    }
    const error = body.error || {};
    if (error.code === "stale_version" && error.current) {
      upsert(Object.assign({}, item, error.current));
      const shown = items.get(item.id);
      if (shown) shown.unread = false; // this message is the notice
      say("Not " + DONE[decision] + ": the request changed to version " + error.current.version +
        " since you looked. Its new arguments are shown; review them and decide again.", true);
      refetch(item.id);
      return;
    }
    say(error.message || "the decision failed", true);
  }

  // A call whose answer was lost: a person says what happened (done, with what the tool did, or not).
  async function recordOutcome(done) {
    const item = items.get(selectedId);
    if (!item || item.status !== "outcome_unknown") return;
    const body = { done: done, note: document.getElementById("outcome-note").value };
    const raw = document.getElementById("outcome-result").value.trim();
    if (done && raw) {
      try { body.result = JSON.parse(raw); } catch (error) { say("What the tool did must be JSON.", true); return; }
    }
    const { response, body: answer } = await post(item.id, "outcome", body);
    if (response.ok) {
      upsert(answer.request, { own: true });
      say(item.tool + ": recorded as " + (done ? "done" : "not done"));
      return;
    }
    say((answer.error || {}).message || "recording the outcome failed", true);
  }
  document.getElementById("outcome-done").addEventListener("click", () => recordOutcome(true));
  document.getElementById("outcome-not-done").addEventListener("click", () => recordOutcome(false));

  // A newer version than the one on screen is marked "changed" until the request leaves;
  // a late, older snapshot never replaces a newer one.
  function upsert(item, options) {
    const shown = items.get(item.id);
    if (item.status !== "pending" && item.status !== "outcome_unknown") { items.delete(item.id); render(); return; }
    if (shown && shown.version > item.version) return;
    if (shown && item.version > shown.version && !(options && options.own)) {
      item.changedFrom = shown.version;
      item.unread = true;
    } else if (shown) {
      item.changedFrom = shown.changedFrom;
      item.unread = shown.unread;
    }
    items.set(item.id, item);
    render();
  }

  // The request as the server has it now (a push says only that it changed).
  async function refetch(id) {
    const response = await fetch("/approvals/" + encodeURIComponent(id) + "/context/", { credentials: "same-origin" });
    if (response.status === 404) { items.delete(id); render(); return; }
    if (!response.ok) return;
    upsert((await response.json()).request);
  }

  function announceLooking() {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "looking", request: selectedId }));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/approvals/");
    socket.addEventListener("open", () => { liveState.dataset.state = "live"; liveState.textContent = "live"; announceLooking(); });
    socket.addEventListener("close", (event) => {
      liveState.dataset.state = "closed"; liveState.textContent = "disconnected";
      if (event.code !== 4403) setTimeout(connect, 2000);
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.event === "presence") {
        if (data.request) lookers.set(data.user, { request: data.request, at: Date.now() }); else lookers.delete(data.user);
        render();
      } else if (data.event === "changed" && data.request && items.has(data.request.id)) {
        refetch(data.request.id);
      } else if (data.request) {
        upsert(data.request);
      }
    });
  }

  // A critical request is never run by the agent: a person acts outside, then closes it here.
  function doneByPerson() {
    const item = items.get(selectedId);
    if (!item || item.tier !== "critical") return;
    const note = window.prompt("What did you do? This note is audited with the request.", "");
    if (note === null) return;
    if (!note.trim()) { say("a note is required to close a request as done", true); return; }
    decide("done", { comment: note });
  }
  document.getElementById("detail-done").addEventListener("click", doneByPerson);

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "a") decide("approve");
    else if (key === "c") decide("cancel");
    else if (key === "d") doneByPerson();
    else if (key === "r") {
      const comment = window.prompt("Why reject it? The agent receives this as the tool's result.", "");
      if (comment !== null) decide("reject", { comment: comment });
    } else if (key === "e") {
      const item = items.get(selectedId);
      if (!item) return;
      const text = window.prompt("Edit the arguments (JSON), then approve:", JSON.stringify(item.arguments));
      if (text === null) return;
      let edited;
      try { edited = JSON.parse(text); } catch (error) { say("not valid JSON: " + error.message, true); return; }
      decide("approve", { arguments: edited });
    } else return;
    event.preventDefault();
  });

  // "Open in Tollgate" (Slack cards, e-mails) links to ?request=<id>: start on that request.
  const linked = new URLSearchParams(location.search).get("request");
  if (items.size) selectedId = items.has(linked) ? linked : ordered()[0].id;
  render();
  connect();
  setInterval(tick, 1000);
  setInterval(announceLooking, 10000);
})();
