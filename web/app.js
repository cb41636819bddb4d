// tabraft's demo page: a pixel board kept consistent by a Raft cluster whose
// members are the open tabs, and a live view of that cluster.
//
// The page talks to its member only through the API of tabraft.d.ts. It
// never paints optimistically: a cell changes when the cluster applies the
// operation (the "applied" event), so every tab shows the same history.
//
// For automated tests: window.tabraftReady resolves with the Member once
// joined (and rejects if loading or joining fails); window.tabraftMember is
// the Member; body[data-state] is "loading", "joined" or "error".

const W = 32;
const H = 20;
const POLL_MS = 250;
const FLUSH_MS = 40; // a drag's cells are proposed in batches this often
const REMOTE_FRESH_MS = 3000; // a status from another tab older than this is stale
const LOG_ROWS = 14;
const PALETTE = [
  "#1d1d1f", "#e63946", "#f4a261", "#e9c46a", "#2a9d8f",
  "#457b9d", "#8338ec", "#ff70a6", "#8d6e63", "#ffffff",
];

/** @type {(id: string) => any} */
const $ = (id) => document.getElementById(id);
/** @type {any} */
const win = window;

let resolveReady;
let rejectReady;
win.tabraftReady = new Promise((resolve, reject) => {
  resolveReady = resolve;
  rejectReady = reject;
});
win.tabraftReady.catch(() => {}); // failures are shown on the page

const params = new URLSearchParams(location.search);
const room = params.get("room") || "demo";

/** Sets an element's text only when it changed (cheap DOM updates). */
function setText(el, text) {
  text = String(text);
  if (el.textContent !== text) el.textContent = text;
}

function setAttr(el, name, value) {
  value = String(value);
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function fmtRate(x) {
  return x >= 10 ? Math.round(x).toString() : (Math.round(x * 10) / 10).toString();
}

function fmtMs(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

/** The error's message, whatever was thrown. */
function message(err) {
  if (err && typeof err.message === "string") return err.message;
  return String(err);
}

// ---- toasts --------------------------------------------------------------

function toast(text, kind = "info") {
  const box = $("toasts");
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === "error" ? 6000 : 3500);
}

// ---- colors and hashes -----------------------------------------------------

const colorOK = new Map();

/** val as a CSS color, or null if it is not one (values are free-form). */
function cssColor(val) {
  let ok = colorOK.get(val);
  if (ok === undefined) {
    ok = val.length <= 64 && CSS.supports("color", val);
    if (colorOK.size > 1000) colorOK.clear();
    colorOK.set(val, ok);
  }
  return ok ? val : null;
}

/** Four hues derived from a hash, so that equal states look equal at a glance. */
function paintHashChip(chip, hash) {
  const h = (hash || "").padStart(16, "0");
  const spans = chip.children;
  for (let i = 0; i < spans.length; i++) {
    const n = parseInt(h.slice(i * 4, i * 4 + 4), 16) || 0;
    const color = hash ? `hsl(${n % 360} ${55 + (n >> 9) % 30}% ${42 + (n >> 4) % 20}%)` : "transparent";
    if (spans[i].style.backgroundColor !== color) spans[i].style.backgroundColor = color;
  }
  chip.title = hash ? `hash ${hash}` : "";
}

// ---- the page --------------------------------------------------------------

class Page {
  /** @param {import("./tabraft.js").Member} member */
  constructor(member) {
    this.m = member;
    this.cellEls = new Map(); // key → element
    this.shown = new Map(); // key → value shown
    this.pending = new Map(); // key → ops in flight
    this.clearing = 0;
    this.tool = { erase: false, color: PALETTE[1] };
    this.stroke = null;
    this.flushTimer = 0;
    /** @type {import("./tabraft.js").Status | null} */
    this.status = null;
    this.polling = false;
    this.busy = false; // a control's request is under way
    this.remote = new Map(); // member id → {st, at}: statuses of tabs in this browser
    this.cards = new Map(); // member id → card parts
    this.logQueue = [];
    this.logFrame = 0;
    this.lastHash = "";
  }

  start() {
    this.buildBoard();
    this.buildPalette();
    // Subscribe before reading the board again: replaying an applied op
    // that the copy already holds changes nothing (set, del and clear
    // overwrite), so no op can be missed between the two.
    this.m.on("applied", (e) => this.onApplied(e));
    this.m.on("restored", (e) => {
      this.renderAll(this.m.cells());
      this.queueLog({ index: e.index, term: null, text: "snapshot restored", hash: e.hash });
    });
    this.m.on("role", () => this.poll());
    this.m.on("membership", () => this.poll());
    this.m.on("error", (e) => toast(e.message, "error"));
    this.renderAll(this.m.cells());
    this.wireControls();
    this.openChannel();
    setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  // ---- board ----

  buildBoard() {
    const board = $("board");
    const frag = document.createDocumentFragment();
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const el = document.createElement("div");
        el.className = "cell";
        el.dataset.key = `${x},${y}`;
        el.setAttribute("role", "gridcell");
        this.cellEls.set(el.dataset.key, el);
        frag.append(el);
      }
    }
    board.replaceChildren(frag);
    board.addEventListener("pointerdown", (e) => this.strokeStart(e));
    board.addEventListener("pointermove", (e) => this.strokeMove(e));
    board.addEventListener("pointerup", () => this.strokeEnd());
    board.addEventListener("pointercancel", () => this.strokeEnd());
    board.addEventListener("lostpointercapture", () => this.strokeEnd());
    board.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  buildPalette() {
    const box = $("palette");
    PALETTE.forEach((color, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "swatch";
      b.dataset.color = color;
      b.style.setProperty("--c", color);
      b.title = `${color} (${(i + 1) % 10})`;
      b.setAttribute("aria-label", `color ${color}`);
      b.addEventListener("click", () => this.pick({ erase: false, color }));
      box.append(b);
    });
    $("eraser").addEventListener("click", () => this.pick({ erase: true, color: this.tool.color }));
    $("clear").addEventListener("click", () => this.clearBoard());
    document.addEventListener("keydown", (e) => {
      if (/** @type {Element} */ (e.target).closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
      if (/^[0-9]$/.test(e.key)) {
        const i = (Number(e.key) + 9) % 10;
        this.pick({ erase: false, color: PALETTE[i] });
      } else if (e.key === "e" || e.key === "E") {
        this.pick({ erase: true, color: this.tool.color });
      }
    });
    this.pick(this.tool);
  }

  pick(tool) {
    this.tool = tool;
    for (const b of $("palette").children) {
      b.setAttribute("aria-pressed", String(!tool.erase && /** @type {HTMLElement} */ (b).dataset.color === tool.color));
    }
    $("eraser").setAttribute("aria-pressed", String(tool.erase));
    $("board").classList.toggle("erasing", tool.erase);
  }

  renderCell(key, val) {
    if (val === undefined || val === null) this.shown.delete(key);
    else this.shown.set(key, val);
    const el = this.cellEls.get(key);
    if (!el) return; // a key outside the grid: kept, not drawn
    if (val === undefined || val === null) {
      if (el.dataset.val !== undefined) {
        delete el.dataset.val;
        el.style.removeProperty("--c");
        el.classList.remove("filled", "odd");
      }
      return;
    }
    if (el.dataset.val === val) return;
    el.dataset.val = val;
    const c = cssColor(val);
    el.classList.add("filled");
    el.classList.toggle("odd", c === null); // not a color: drawn hatched
    if (c) el.style.setProperty("--c", c);
    else el.style.removeProperty("--c");
  }

  renderAll(cells) {
    for (const key of [...this.shown.keys()]) {
      if (!(key in cells)) this.renderCell(key, null);
    }
    for (const [key, val] of Object.entries(cells)) this.renderCell(key, val);
    this.countCells();
  }

  countCells() {
    const n = this.shown.size;
    setText($("cell-count"), `${n} cell${n === 1 ? "" : "s"}`);
  }

  /** @param {import("./tabraft.js").AppliedEvent} e */
  onApplied(e) {
    const op = e.op;
    if (op && !(e.result && e.result.err)) {
      if (op.op === "set") this.renderCell(op.key, op.val);
      else if (op.op === "del") this.renderCell(op.key, null);
      else if (op.op === "clear") for (const key of [...this.shown.keys()]) this.renderCell(key, null);
      this.countCells();
    }
    if (e.hash) this.showState(e.hash, e.result ? e.result.version : null);
    this.queueLog({ index: e.index, term: e.term, op, err: e.result && e.result.err });
  }

  // ---- painting ----

  cellAt(e) {
    const board = $("board");
    const r = board.getBoundingClientRect();
    const w = board.clientWidth;
    const h = board.clientHeight;
    const x = Math.floor(((e.clientX - r.left - board.clientLeft) / w) * W);
    const y = Math.floor(((e.clientY - r.top - board.clientTop) / h) * H);
    if (x < 0 || y < 0 || x >= W || y >= H) return null;
    return { x, y };
  }

  strokeStart(e) {
    if (e.button !== 0 && e.button !== 2) return;
    e.preventDefault();
    const at = this.cellAt(e);
    if (!at) return;
    $("board").setPointerCapture(e.pointerId);
    this.stroke = { erase: e.button === 2 || this.tool.erase, color: this.tool.color, seen: new Set(), ops: [], last: at };
    this.paintCell(at.x, at.y);
  }

  strokeMove(e) {
    if (!this.stroke) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const at = this.cellAt(ev);
      if (!at) continue;
      // Every cell on the segment since the last one: fast drags skip none.
      let { x, y } = this.stroke.last;
      const dx = Math.abs(at.x - x), dy = -Math.abs(at.y - y);
      const sx = x < at.x ? 1 : -1, sy = y < at.y ? 1 : -1;
      let err = dx + dy;
      for (;;) {
        this.paintCell(x, y);
        if (x === at.x && y === at.y) break;
        const e2 = 2 * err;
        if (e2 >= dy) { err += dy; x += sx; }
        if (e2 <= dx) { err += dx; y += sy; }
      }
      this.stroke.last = at;
    }
  }

  strokeEnd() {
    if (!this.stroke) return;
    this.flush();
    this.stroke = null;
  }

  paintCell(x, y) {
    const s = this.stroke;
    const key = `${x},${y}`;
    if (s.seen.has(key)) return;
    s.seen.add(key);
    const cur = this.shown.get(key);
    if (!this.pending.has(key) && (s.erase ? cur === undefined : cur === s.color)) return;
    const op = s.erase ? { op: "del", key } : { op: "set", key, val: s.color };
    s.ops.push(op);
    this.markPending(op, 1);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush() {
    clearTimeout(this.flushTimer);
    this.flushTimer = 0;
    const s = this.stroke;
    if (!s || s.ops.length === 0) return;
    const ops = s.ops;
    s.ops = [];
    this.send(ops);
  }

  /** Proposes ops (one propose, or one batch) and clears their pending marks when done. */
  async send(ops) {
    try {
      const results = ops.length === 1 ? [await this.m.propose(ops[0])] : await this.m.proposeBatch(ops);
      const bad = results.find((r) => r && r.err);
      if (bad) toast(`refused: ${bad.err}`, "error");
    } catch (err) {
      toast(`not applied: ${message(err)}`, "error");
    } finally {
      for (const op of ops) this.markPending(op, -1);
    }
  }

  markPending(op, delta) {
    if (op.op === "clear") {
      this.clearing += delta;
      $("board").classList.toggle("clearing", this.clearing > 0);
      return;
    }
    const n = (this.pending.get(op.key) || 0) + delta;
    const el = this.cellEls.get(op.key);
    if (n > 0) this.pending.set(op.key, n);
    else this.pending.delete(op.key);
    if (!el) return;
    el.classList.toggle("pending", n > 0);
    if (delta > 0) {
      el.classList.toggle("pending-erase", op.op === "del");
      if (op.op === "set") el.style.setProperty("--p", cssColor(op.val) || "#888");
    }
  }

  clearBoard() {
    const op = { op: "clear" };
    this.markPending(op, 1);
    this.send([op]);
  }

  // ---- this member ----

  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const st = await this.m.status();
      this.status = st;
      this.renderStatus(st);
      this.publish(st);
      this.renderCluster(st);
    } catch (err) {
      setText($("note"), `status: ${message(err)}`);
    } finally {
      this.polling = false;
    }
  }

  showState(hash, version) {
    if (hash !== this.lastHash) {
      this.lastHash = hash;
      setText($("hash"), hash);
      paintHashChip($("hash-chip"), hash);
    }
    if (version !== null && version !== undefined) setText($("version"), version);
  }

  /** @param {import("./tabraft.js").Status} st */
  renderStatus(st) {
    document.body.dataset.role = st.role;
    setText($("member-id"), st.id);
    const role = $("role");
    setText(role, st.role);
    setAttr(role, "data-role", st.role);
    setText($("term"), st.term);
    setText($("leader"), st.leader ? (st.leader === st.id ? `${st.leader} (you)` : st.leader) : "none");
    setText($("commit"), st.commit);
    setText($("applied"), st.applied);
    this.showState(st.hash, st.version);
    setText($("note"), st.note || "");
    $("note").classList.toggle("warn", noQuorum(st) || st.disconnected);

    const stopped = st.role === "stopped";
    const left = /left the cluster/i.test(st.note || "");
    const idle = !this.busy;
    $("stop").disabled = !idle || stopped;
    $("restart").disabled = !idle || left;
    setText($("restart"), stopped ? "Start again" : "Restart");
    $("disconnect").disabled = !idle || st.disconnected || left;
    $("reconnect").disabled = !idle || !st.disconnected || left;
    $("transfer").disabled = !idle || stopped || !st.leader || st.voters.length < 2;
    $("leave").disabled = !idle || left;
    $("clear").disabled = stopped;
    $("board").classList.toggle("stopped", stopped);
    document.body.classList.toggle("left", left);
    $("recover-row").hidden = !noQuorum(st);
    $("recover").disabled = !idle;
    this.renderTransferChoices(st);
  }

  renderTransferChoices(st) {
    const sel = $("transfer-to");
    const want = st.voters.filter((v) => v !== st.leader);
    const have = [...sel.options].slice(1).map((o) => o.value);
    if (want.join() === have.join()) return;
    const chosen = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const id of want) {
      const o = document.createElement("option");
      o.value = id;
      o.textContent = id === st.id ? `${id} (this tab)` : id;
      sel.append(o);
    }
    sel.value = want.includes(chosen) ? chosen : "";
  }

  wireControls() {
    const act = (id, label, fn) => {
      $(id).addEventListener("click", async () => {
        this.busy = true;
        $(id).classList.add("busy");
        if (this.status) this.renderStatus(this.status);
        try {
          await fn();
        } catch (err) {
          toast(`${label}: ${message(err)}`, "error");
        } finally {
          this.busy = false;
          $(id).classList.remove("busy");
          this.poll();
        }
      });
    };
    act("stop", "stop", () => this.m.stop());
    act("restart", "restart", async () => {
      await this.m.restart();
      this.renderAll(this.m.cells());
    });
    act("disconnect", "disconnect", () => this.m.disconnect());
    act("reconnect", "reconnect", () => this.m.reconnect());
    act("transfer", "transfer leadership", () => {
      const to = $("transfer-to").value;
      return to ? this.m.transferLeadership(to) : this.m.transferLeadership();
    });
    act("leave", "leave", async () => {
      await this.m.leave();
      toast("This tab left the cluster. Reload the page to join again.");
    });
    const dialog = $("recover-dialog");
    $("recover").addEventListener("click", () => dialog.showModal());
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "confirm") return;
      dialog.returnValue = "";
      this.busy = true;
      try {
        await this.m.recoverAlone();
        this.renderAll(this.m.cells());
        toast("This tab now runs a new cluster of its own.");
      } catch (err) {
        toast(`recover: ${message(err)}`, "error");
      } finally {
        this.busy = false;
        this.poll();
      }
    });
  }

  // ---- other tabs of this browser ----

  /**
   * Tabs of the same browser share their statuses over a BroadcastChannel,
   * so that the cluster view can show every member's own term, commit and
   * log, not only the leader's view of it. It is only a window on the
   * members: the board never goes through it.
   */
  openChannel() {
    if (typeof BroadcastChannel !== "function") return;
    this.bc = new BroadcastChannel(`tabraft-demo/${room}`);
    this.bc.onmessage = (e) => {
      const d = e.data;
      if (!d || typeof d !== "object") return;
      if (d.kind === "status" && d.st && typeof d.st.id === "string" && d.st.id !== this.m.id) {
        this.remote.set(d.st.id, { st: d.st, at: Date.now() });
      } else if (d.kind === "bye" && typeof d.id === "string") {
        this.remote.delete(d.id);
      }
    };
    addEventListener("pagehide", () => this.bc.postMessage({ kind: "bye", id: this.m.id }));
  }

  publish(st) {
    if (this.bc) this.bc.postMessage({ kind: "status", st });
  }

  freshRemote(id) {
    const r = this.remote.get(id);
    if (!r) return null;
    const age = Date.now() - r.at;
    if (age > 60000) {
      this.remote.delete(id);
      return null;
    }
    return age <= REMOTE_FRESH_MS ? r.st : null;
  }

  // ---- cluster view ----

  /** @param {import("./tabraft.js").Status} st */
  renderCluster(st) {
    const ids = new Set([st.id, ...st.voters, ...st.learners]);
    for (const p of st.peers) ids.add(p.id);
    if (st.progress) for (const id of Object.keys(st.progress)) ids.add(id);
    for (const id of this.remote.keys()) if (this.freshRemote(id)) ids.add(id);
    const order = [...ids].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));

    // The leader's view: ours, or the leader tab's if it runs in this
    // browser (the one this member follows, else the latest term's).
    let lview = st.progress ? st : null;
    if (!lview && st.leader) {
      const r = this.freshRemote(st.leader);
      if (r && r.progress) lview = r;
    }
    if (!lview) {
      for (const id of this.remote.keys()) {
        const r = this.freshRemote(id);
        if (r && r.progress && r.role === "leader" && (!lview || r.term > lview.term)) lview = r;
      }
    }

    const box = $("members");
    for (const [id, card] of this.cards) {
      if (!ids.has(id)) {
        card.el.remove();
        this.cards.delete(id);
      }
    }
    let prev = null;
    for (const id of order) {
      let card = this.cards.get(id);
      if (!card) {
        card = makeCard(id, id === st.id);
        this.cards.set(id, card);
      }
      const want = prev ? prev.nextSibling : box.firstChild;
      if (want !== card.el) box.insertBefore(card.el, want);
      prev = card.el;
      this.renderCard(card, id, st, lview);
    }

    const voters = st.voters.length;
    const parts = [];
    parts.push(st.leader ? `leader ${st.leader}` : "no leader");
    parts.push(`term ${st.term}`);
    parts.push(`${voters} voter${voters === 1 ? "" : "s"}${voters ? ` (quorum ${Math.floor(voters / 2) + 1})` : ""}`);
    if (st.learners.length) parts.push(`${st.learners.length} learner${st.learners.length === 1 ? "" : "s"}`);
    parts.push(`${ids.size} in the room`);
    setText($("cluster-summary"), parts.join(" · "));
    const alone = ids.size === 1 && st.role !== "stopped";
    $("alone-hint").hidden = !alone;
    document.body.classList.toggle("alone", alone);
  }

  renderCard(card, id, st, lview) {
    const self = id === st.id;
    const own = self ? st : this.freshRemote(id);
    const kind = st.voters.includes(id) ? "voter" : st.learners.includes(id) ? "learner" : "outside";
    let role;
    if (own) role = own.role;
    else if (id === st.leader) role = "leader";
    else if (kind !== "outside" && st.leader) role = "follower";
    else role = "unknown";

    setAttr(card.el, "data-role", role);
    setAttr(card.el, "data-kind", kind);
    setText(card.role, role);
    setAttr(card.role, "data-role", role);
    setText(card.kind, kind === "outside" ? "not a member yet" : kind);
    card.kind.title = kind === "outside" ? "in the room, not in the Raft configuration (joining, or removed)" : "";
    card.el.classList.toggle("remote", !own);

    setText(card.term, own ? own.term : "—");
    setText(card.commit, own ? own.commit : "—");
    setText(card.applied, own ? own.applied : "—");
    setText(card.log, own ? `${Math.max(0, own.lastIndex - own.firstIndex + 1)}` : "—");
    card.log.title = own ? `entries ${own.firstIndex}…${own.lastIndex}` : "";
    paintHashChip(card.chip, own ? own.hash : "");
    let hashText = own ? own.hash : "";
    if (!own) {
      const r = this.remote.get(id);
      hashText = r ? `no report for ${fmtMs(Date.now() - r.at)}` : "not in this browser";
    }
    setText(card.hash, hashText);
    card.hash.title = own ? "hash of its applied board" : "its own state is only visible from tabs of the same browser";
    setText(card.rates, own && own.role !== "stopped" ? `↑${fmtRate(own.msgsOutPerSec)} ↓${fmtRate(own.msgsInPerSec)}/s` : "");
    card.rates.title = "Raft messages per second, sent ↑ and received ↓";

    const prog = lview && lview.progress ? lview.progress[id] : null;
    if (prog) {
      const last = Math.max(1, lview.lastIndex);
      const pct = Math.max(0, Math.min(100, (prog.match / last) * 100));
      card.bar.style.width = `${pct}%`;
      card.barBox.classList.toggle("behind", prog.match < lview.lastIndex);
      const state = prog.state === "replicate" || id === lview.id ? "" : ` · ${prog.state}`;
      setText(card.match, `match ${prog.match} / ${lview.lastIndex}${state}`);
      card.match.title = `the leader's view: match ${prog.match}, next ${prog.next}, ${prog.state}`;
      setText(card.heard, id === lview.id ? "" : `heard ${fmtMs(prog.lastHeardMs)} ago`);
      setAttr(card.el, "data-match", prog.match);
    } else {
      card.bar.style.width = "0%";
      card.barBox.classList.remove("behind");
      setText(card.match, lview ? "not tracked by the leader" : "no leader's view");
      card.match.title = lview ? "" : "the leader's view of each log is known in the leader's tab, and in the tabs of its browser";
      setText(card.heard, "");
      card.el.removeAttribute("data-match");
    }

    let link = "";
    if (!self) {
      const p = st.peers.find((x) => x.id === id);
      link = p ? (p.connected ? "open" : "closed") : "none";
    }
    setAttr(card.el, "data-connected", self ? "self" : link);
    setText(card.link, self ? "this tab" : link === "open" ? "link open" : link === "closed" ? "link closed" : "no link");
    card.link.title = self ? "" : "this tab's data channel to it";
    setAttr(card.link, "data-link", self ? "self" : link);
  }

  // ---- log tail ----

  queueLog(entry) {
    this.logQueue.push(entry);
    if (this.logQueue.length > LOG_ROWS) this.logQueue.splice(0, this.logQueue.length - LOG_ROWS);
    if (!this.logFrame) this.logFrame = requestAnimationFrame(() => this.renderLog());
  }

  renderLog() {
    this.logFrame = 0;
    const body = $("log").tBodies[0];
    for (const e of this.logQueue) body.prepend(logRow(e));
    this.logQueue = [];
    while (body.rows.length > LOG_ROWS) body.lastElementChild.remove();
    $("log-empty").hidden = body.rows.length > 0;
  }
}

function noQuorum(st) {
  return st.role !== "stopped" && st.role !== "leader" && !st.leader && !st.disconnected &&
    /no quorum|quorum needs/i.test(st.note || "");
}

function makeCard(id, self) {
  const el = document.createElement("article");
  el.className = "member";
  el.classList.toggle("self", self);
  el.dataset.memberId = id;
  el.innerHTML = `
    <header>
      <span class="mid mono"></span>
    </header>
    <div class="sub"><span class="badge"></span> <span class="kind"></span></div>
    <dl class="stats">
      <div><dt>term</dt><dd class="mono s-term"></dd></div>
      <div><dt>commit</dt><dd class="mono s-commit"></dd></div>
      <div><dt>applied</dt><dd class="mono s-applied"></dd></div>
      <div><dt>log</dt><dd class="mono s-log"></dd></div>
    </dl>
    <div class="matchbar"><span></span></div>
    <div class="matchtext"></div>
    <div class="hashrow"><span class="hash-chip small"><i></i><i></i><i></i><i></i></span><span class="mono s-hash"></span></div>
    <div class="footrow"><span class="linkstate"></span><span class="rates"></span></div>
    <div class="heard"></div>`;
  const q = (s) => el.querySelector(s);
  q(".mid").textContent = id;
  if (self) q(".mid").insertAdjacentHTML("afterend", `<span class="you">you</span>`);
  return {
    el,
    role: q(".badge"),
    kind: q(".kind"),
    term: q(".s-term"),
    commit: q(".s-commit"),
    applied: q(".s-applied"),
    log: q(".s-log"),
    barBox: q(".matchbar"),
    bar: q(".matchbar span"),
    match: q(".matchtext"),
    chip: q(".hash-chip"),
    hash: q(".s-hash"),
    link: q(".linkstate"),
    rates: q(".rates"),
    heard: q(".heard"),
  };
}

function logRow(e) {
  const tr = document.createElement("tr");
  const td = (text, cls) => {
    const c = document.createElement("td");
    c.textContent = text;
    if (cls) c.className = cls;
    tr.append(c);
    return c;
  };
  td(e.index, "mono");
  td(e.term === null ? "" : e.term, "mono");
  const cell = td("", "op");
  const op = e.op;
  if (e.text) {
    cell.textContent = e.text;
  } else if (!op) {
    cell.textContent = "(configuration or no-op)";
    cell.classList.add("muted");
  } else if (op.op === "set") {
    const sw = document.createElement("span");
    sw.className = "swatch-mini";
    const c = cssColor(op.val);
    if (c) sw.style.background = c;
    cell.append("set ", mono(op.key), " ", sw, mono(op.val));
  } else if (op.op === "del") {
    cell.append("del ", mono(op.key));
  } else {
    cell.append(op.op);
  }
  if (e.err) {
    cell.append(` — refused: ${e.err}`);
    cell.classList.add("bad");
  }
  return tr;
}

function mono(text) {
  const s = document.createElement("code");
  s.textContent = text;
  return s;
}

// ---- start ------------------------------------------------------------------

function showError(title, err, hint) {
  document.body.dataset.state = "error";
  $("loading").hidden = true;
  $("app").hidden = true;
  $("error").hidden = false;
  setText($("error-title"), title);
  setText($("error-message"), message(err));
  setText($("error-hint"), hint);
}

function wireShare() {
  setText($("room"), room);
  document.title = room === "demo" ? "tabraft" : `tabraft · ${room}`;
  const link = $("share-link");
  link.value = location.href;
  link.addEventListener("focus", () => link.select());
  const open = () => window.open(location.href, "_blank");
  $("open-tab").addEventListener("click", open);
  $("open-tab-2").addEventListener("click", open);
  $("copy-link").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      toast("Link copied: open it in another tab or browser.");
    } catch {
      link.focus();
      link.select();
      toast("Press Ctrl+C to copy the selected link.");
    }
  });
}

async function main() {
  wireShare();
  let tabraft;
  try {
    const mod = await import("./tabraft.js");
    const load = mod.loadTabraft || globalThis.loadTabraft;
    if (typeof load !== "function") throw new Error("tabraft.js does not define loadTabraft");
    tabraft = await load();
  } catch (err) {
    showError("The WebAssembly member did not load", err,
      "This tab cannot take part without it. Check that the server was started with -wasm-dir pointing at a " +
      "built tabraft.wasm, and that this browser supports WebAssembly and WebRTC.");
    rejectReady(err);
    return;
  }
  setText($("tabraft-version"), tabraft.version || "");
  setText($("loading-text"), `Joining room “${room}”…`);
  let member;
  try {
    member = await tabraft.join({ room });
  } catch (err) {
    showError(`Could not join room “${room}”`, err,
      "The signaling server may be down or unreachable, or the room may be full. Try again in a moment.");
    rejectReady(err);
    return;
  }
  win.tabraftMember = member;
  $("loading").hidden = true;
  $("app").hidden = false;
  document.body.dataset.state = "joined";
  new Page(member).start();
  resolveReady(member);
}

main();
