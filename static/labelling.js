// The labelling page: play the clip, take one key press, move on at once.
// The next clip is leased and downloaded while the current one plays, so
// the annotator never waits. The server lets an annotator hold two leases
// (on screen + preloaded); `exclude` asks it for the one after ours.
(() => {
  "use strict";
  const root = document.getElementById("labelling");
  if (!root) return;
  const campaign = root.dataset.campaign;
  const csrf = root.dataset.csrf;
  const video = document.getElementById("clip");
  const list = document.getElementById("expressions");
  const flash = document.getElementById("flash");
  const counter = document.getElementById("counter");
  const doneBox = document.getElementById("done");
  const FRAME = 1 / 25; // previews are written at the clip's rate; 25 fps is the usual one
  const state = { current: null, next: null, last: null, shownAt: 0, busy: false, speed: 1, finished: false };

  async function api(method, url, body) {
    const res = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = null; } }
    return { status: res.status, data };
  }

  function say(text, kind) {
    flash.textContent = text || "";
    flash.className = "flash" + (kind ? " " + kind : "");
  }

  async function fetchNext(exclude) {
    const q = exclude.map((id) => "exclude=" + encodeURIComponent(id)).join("&");
    const r = await api("GET", `/api/v1/campaigns/${campaign}/next` + (q ? "?" + q : ""));
    if (r.status === 200) return r.data;
    if (r.status === 204) return null;
    const err = new Error((r.data && r.data.detail) || `The server answered ${r.status}.`);
    err.status = r.status;
    throw err;
  }

  // Download the whole (small) preview now so it plays the instant it is shown.
  async function preload(deal) {
    try {
      const res = await fetch(deal.media_url, { credentials: "same-origin" });
      if (res.ok) deal.blobUrl = URL.createObjectURL(await res.blob());
    } catch (e) { /* it will stream from media_url instead */ }
  }

  function forget(deal) {
    if (deal && deal.blobUrl) { URL.revokeObjectURL(deal.blobUrl); deal.blobUrl = null; }
  }

  // The model's probabilities beside the expressions. Keys and order never
  // move: "1" is the same expression on every clip (a ranking that reorders
  // the keys invites mistakes and pushes annotators towards the model); the
  // model's top guess is only highlighted.
  function showRanking(ranking) {
    const p = new Map((ranking || []).map((r) => [r.expression, r.p]));
    let best = null;
    (ranking || []).forEach((r) => { if (best === null || r.p > best.p) best = r; });
    list.querySelectorAll(".expr").forEach((row) => {
      const prob = p.get(row.dataset.expression);
      row.querySelector(".p").textContent = prob === undefined ? "" : Math.round(prob * 100) + "%";
      row.querySelector(".pbar").style.width = prob === undefined ? "0" : (prob * 100).toFixed(1) + "%";
      row.classList.toggle("top", best !== null && row.dataset.expression === best.expression);
    });
  }

  // "Your record" shows the same label count as the counter at once; the
  // panel's other figures follow with its refresh (the last request wins).
  function setCount(n) {
    counter.textContent = String(n);
    const mine = document.getElementById("stats-labels");
    if (mine) mine.textContent = String(n);
  }

  function show(deal) {
    state.current = deal;
    root.classList.remove("finished");
    doneBox.hidden = true;
    video.hidden = false;
    video.src = deal.blobUrl || deal.media_url;
    video.playbackRate = state.speed;
    const playing = video.play();
    if (playing) playing.catch(() => {});
    showRanking(deal.ranking);
    document.getElementById("clipinfo").textContent = `clip ${deal.clip_id}`;
    state.shownAt = performance.now();
  }

  // Nothing (more) to label: no clip, so none of its ranking, words, flags
  // or player either; Undo stays while there is a label to take back.
  function finish(text) {
    state.current = null;
    state.finished = true;
    video.pause();
    video.removeAttribute("src");
    video.hidden = true;
    showRanking(null);
    document.getElementById("clipinfo").textContent = "";
    root.classList.add("finished");
    doneBox.hidden = false;
    doneBox.textContent = text;
  }

  async function prefetch() {
    if (state.next || !state.current) return;
    const mine = state.current.assignment_id;
    try {
      const deal = await fetchNext([mine]);
      if (deal && state.current && deal.assignment_id !== state.current.assignment_id && !state.next) {
        state.next = deal;
        await preload(deal);
      }
    } catch (e) { /* asked again after this label */ }
  }

  async function advance() {
    if (state.next) {
      const deal = state.next;
      state.next = null;
      show(deal);
    } else {
      state.current = null;
      try {
        const deal = await fetchNext([]);
        if (!deal) { finish("Nothing is left for you to label in this campaign. Thank you!"); return; }
        show(deal);
      } catch (e) { finish(e.message); return; }
    }
    prefetch();
  }

  async function submit(payload) {
    if (!state.current || state.busy) return;
    state.busy = true;
    const deal = state.current;
    try {
      const r = await api("POST", "/api/v1/annotations", Object.assign({
        assignment_id: deal.assignment_id, duration_ms: Math.round(performance.now() - state.shownAt),
      }, payload));
      if (r.status === 200 || r.status === 201) {
        setCount(r.data.labels_done);
        if (state.last) forget(state.last.deal);
        state.last = { id: r.data.id, deal, vote: !(r.data.flags || []).includes("pass") };
        say(`Saved: ${r.data.expression || r.data.flags.join(", ")}. Z undoes it.`, "");
        document.body.dispatchEvent(new Event("labelled"));
        await advance();
      } else if (r.status === 409) {
        say(r.data.detail, "error");
        forget(deal);
        await advance();
      } else {
        say((r.data && r.data.detail) || `The server answered ${r.status}.`, "error");
        if (r.status === 403 && /paused/i.test((r.data && r.data.detail) || "")) finish(r.data.detail);
      }
    } catch (e) {
      say("Could not reach the server; press the key again.", "error");
    } finally {
      state.busy = false;
    }
  }

  async function undo() {
    if (!state.last || state.busy) { if (!state.last) say("Nothing to undo.", ""); return; }
    state.busy = true;
    const last = state.last;
    try {
      const r = await api("DELETE", `/api/v1/annotations/${last.id}`);
      if (r.status === 200) {
        state.last = null;
        // The clip on screen waits behind the undone one (any clip preloaded
        // before stays leased to us and comes back from the server later).
        if (state.current) { if (state.next) forget(state.next); state.next = state.current; }
        if (last.vote) setCount(Math.max(0, Number(counter.textContent) - 1));
        state.finished = false;
        const deal = r.data;
        deal.blobUrl = last.deal.blobUrl;
        show(deal);
        say("Label undone: label this clip again.", "");
        document.body.dispatchEvent(new Event("labelled"));
      } else {
        say((r.data && r.data.detail) || `The server answered ${r.status}.`, "error");
        if (r.status === 409 || r.status === 404) state.last = null;
      }
    } catch (e) {
      say("Could not reach the server; press Z again.", "error");
    } finally {
      state.busy = false;
    }
  }

  function pick(index) {
    const row = list.querySelectorAll(".expr")[index];
    if (row) submit({ expression: row.dataset.expression });
  }

  function setSpeed(speed) {
    state.speed = speed;
    video.playbackRate = speed;
    document.querySelectorAll("[data-speed]").forEach((b) => b.classList.toggle("on", Number(b.dataset.speed) === speed));
  }

  function step(dir) {
    video.pause();
    video.currentTime = Math.max(0, Math.min(video.duration || 0, video.currentTime + dir * FRAME));
  }

  function togglePlay() { if (video.paused) video.play().catch(() => {}); else video.pause(); }

  list.addEventListener("click", (ev) => {
    const word = ev.target.closest(".word");
    if (word) { submit({ expression: word.dataset.expression, descriptor: word.dataset.descriptor }); return; }
    const btn = ev.target.closest(".pick");
    if (btn) submit({ expression: btn.dataset.expression });
  });
  document.querySelectorAll("[data-flag]").forEach((b) => b.addEventListener("click", () => submit({ flags: [b.dataset.flag] })));
  document.querySelectorAll("[data-speed]").forEach((b) => b.addEventListener("click", () => setSpeed(Number(b.dataset.speed))));
  document.querySelectorAll("[data-step]").forEach((b) => b.addEventListener("click", () => step(Number(b.dataset.step))));
  const playBtn = document.getElementById("playpause");
  playBtn.addEventListener("click", togglePlay);
  video.addEventListener("play", () => { playBtn.textContent = "Pause"; });
  video.addEventListener("pause", () => { playBtn.textContent = "Play"; });
  document.getElementById("undo").addEventListener("click", undo);

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest && ev.target.closest("input, textarea, select")) return;
    const k = ev.key;
    if (/^[1-9]$/.test(k)) { ev.preventDefault(); pick(Number(k) - 1); return; }
    switch (k.toLowerCase()) {
      case "p": submit({ flags: ["pass"] }); break;
      case "n": submit({ flags: ["not_a_face"] }); break;
      case "b": submit({ flags: ["bad_clip"] }); break;
      case "z": undo(); break;
      case " ": togglePlay(); break;
      case ",": step(-1); break;
      case ".": step(1); break;
      default: return;
    }
    ev.preventDefault();
  });

  // Start: a lease we already hold comes back first (reload-safe).
  advance();
})();
