// Live reasoning paths: one card per generation, text streamed by delta messages.
// State (synced traits): `paths` (card metadata), `texts` (full texts; paths.py says when),
// `header`. Messages: {type: "deltas", items: [{path, offset, text}]}. A delta whose
// offset is past the text we hold is a gap (we were displayed late, or lost a message):
// we ask the kernel once for {type: "resync"} and wait for `texts`.
//
// Speed (bench/stream_ui.py: 16 streams in one browser tab): messages only update each
// card's logical text and queue the new piece; the DOM is written once per animation
// frame, reads (is this card scrolled to the bottom?) before writes, so a frame costs one
// layout instead of one forced layout per card per message. The text of a card is split
// into block-level chunks of about CHUNK characters, cut after a newline (or, in a long
// line, after a space), so a layout re-flows only the last chunk, not the whole text:
// with one growing text block, each layout cost grew with the text and 16 cards x 500
// tokens reached seconds of lag.

const CHUNK = 512; // characters before a chunk closes at the next newline
const CHUNK_HARD = 1024; // ... or, in a line this long, at the next space
const CHILD_ROLES = new Set(["forced_answer", "verify"]);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  root.classList.add("wb-paths-root");
  const header = el("div", "wb-paths-header");
  const grid = el("div", "wb-paths");
  root.append(header, grid);
  const cards = new Map();

  function ensureCard(p) {
    let c = cards.get(p.id);
    if (c) return c;
    const child = CHILD_ROLES.has(p.role);
    const card = el("div", child ? "wb-path wb-path-child" : "wb-path");
    card.dataset.pathId = p.id;
    const head = el("div", "wb-path-head");
    const label = el("span", "wb-path-label");
    const answer = el("span", "wb-path-answer");
    const status = el("span", "wb-path-status");
    head.append(label, answer, status);
    const text = el("div", "wb-path-text");
    card.append(head, text);
    const parent = p.parent ? cards.get(p.parent) : null;
    if (child && parent) parent.card.append(card); else grid.append(card);
    c = { card, label, answer, status, text, value: "", pending: "", chunk: null, chunkLen: 0,
          last: "" };
    cards.set(p.id, c);
    return c;
  }

  // ---- text: logical value now, DOM once per frame -------------------------------
  const dirty = new Set();
  let frame = 0;

  function schedule(c) {
    dirty.add(c);
    if (!frame) frame = requestAnimationFrame(flush);
  }

  // A full text (first render, new item, gap repair): written at once, so a restored or
  // exported notebook has its text in the DOM as soon as the cards exist.
  function setText(c, value) {
    c.value = value;
    c.pending = "";
    c.text.replaceChildren();
    c.chunk = null;
    writeChunks(c, value);
  }

  let resyncAsked = false;

  function appendText(c, offset, piece) {
    if (offset > c.value.length) { // gap: the kernel resends `texts`
      if (!resyncAsked) { resyncAsked = true; model.send({ type: "resync" }); }
      return;
    }
    const tail = piece.slice(c.value.length - offset);
    if (!tail) return;
    c.value += tail;
    c.pending += tail;
    schedule(c);
  }

  // Where the open chunk may close inside `s`: just after a newline that follows a
  // non-newline (`last`: the chunk's last character), or after a space once the chunk
  // is very long; at or after index `from`; -1 if not in this piece.
  function cutAt(s, from, len, last) {
    for (let k = s.indexOf("\n", Math.max(0, from - 1)); k >= 0; k = s.indexOf("\n", k + 1)) {
      if ((k > 0 ? s[k - 1] : last) !== "\n") return k + 1;
    }
    if (len + s.length < CHUNK_HARD) return -1;
    const ws = /\s/g;
    ws.lastIndex = Math.max(0, from - 1, CHUNK_HARD - len - 1);
    const m = ws.exec(s);
    return m ? m.index + 1 : -1;
  }

  // Append `s` to the card's chunks. A chunk closed at a newline keeps that newline in a
  // hidden span: the block boundary already breaks the line, and this way the text reads
  // the same on screen, in textContent and in innerText / copy-paste.
  function writeChunks(c, s) {
    let i = 0;
    while (i < s.length) {
      if (!c.chunk) {
        c.chunk = el("div", "wb-path-chunk");
        c.chunkLen = 0;
        c.last = "";
        c.text.append(c.chunk);
      }
      const rest = s.slice(i);
      const cut = c.chunkLen + rest.length >= CHUNK
        ? cutAt(rest, Math.max(1, CHUNK - c.chunkLen), c.chunkLen, c.last) : -1;
      const piece = cut > 0 ? rest.slice(0, cut) : rest;
      const before = piece.length > 1 ? piece[piece.length - 2] : c.last;
      if (cut > 0 && piece.endsWith("\n") && before !== "\n") {
        if (piece.length > 1) c.chunk.append(document.createTextNode(piece.slice(0, -1)));
        const nl = el("span", "wb-path-nl", "\n");
        nl.hidden = true;
        c.chunk.append(nl);
      } else {
        c.chunk.append(document.createTextNode(piece));
      }
      c.chunkLen += piece.length;
      c.last = piece[piece.length - 1];
      if (cut > 0) c.chunk = null; // the next text opens a new block
      i += piece.length;
    }
  }

  function flush() {
    frame = 0;
    const cs = [...dirty].filter((c) => c.pending && c.card.isConnected);
    dirty.clear();
    // Reads first (one layout for all cards), then writes, then the scrolls (one more).
    // Only a running card follows its stream: a finished one stays where it was put.
    const stick = cs.map((c) => c.card.dataset.status === "running"
                                && c.text.scrollTop + c.text.clientHeight
                                   >= c.text.scrollHeight - 4);
    for (const c of cs) {
      writeChunks(c, c.pending);
      c.pending = "";
    }
    cs.forEach((c, k) => { if (stick[k]) c.text.scrollTop = c.text.scrollHeight; });
  }

  function renderMeta() {
    header.textContent = model.get("header");
    const paths = model.get("paths");
    const keep = new Set(paths.map((p) => p.id));
    for (const [id, c] of cards) {
      if (!keep.has(id)) { c.card.remove(); cards.delete(id); }
    }
    for (const p of paths) {
      const c = ensureCard(p);
      const was = c.card.dataset.status;
      // A path that just finished shows the start of its reasoning, not its tail (a card
      // the reader scrolled elsewhere keeps its place).
      if (was === "running" && p.status !== "running"
          && c.text.scrollTop + c.text.clientHeight >= c.text.scrollHeight - 4) {
        c.text.scrollTop = 0;
      }
      c.card.dataset.status = p.status;
      c.card.dataset.role = p.role;
      c.card.dataset.answer = p.answer ?? "";
      c.card.dataset.correct = p.correct === null ? "" : String(p.correct);
      c.card.classList.toggle("wb-path-correct", p.correct === true);
      c.card.classList.toggle("wb-path-wrong", p.correct === false);
      c.card.classList.toggle("wb-path-truncated", p.truncated);
      c.card.classList.toggle("wb-path-stopped", p.status === "stopped");
      c.card.classList.toggle("wb-path-running", p.status === "running");
      c.card.style.borderColor = p.color;
      c.label.textContent = p.label;
      c.answer.textContent = p.answer === null ? "" : p.answer;
      c.answer.style.background = p.color;
      c.status.textContent = p.badge;
    }
  }

  function renderTexts() {
    resyncAsked = false;
    const texts = model.get("texts");
    for (const [id, value] of Object.entries(texts)) {
      const c = cards.get(id);
      if (!c) continue;
      // Keep what the deltas already drew when it extends the synced text; append when
      // the synced text extends ours; redraw only when they disagree.
      if (c.value.startsWith(value)) continue;
      if (c.value && value.startsWith(c.value)) {
        appendText(c, c.value.length, value.slice(c.value.length));
      } else {
        setText(c, value); // at once: a restored notebook shows its text with its cards
      }
    }
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "deltas") return;
    for (const d of msg.items) {
      const c = cards.get(d.path);
      if (c) appendText(c, d.offset, d.text);
    }
  }

  renderMeta();
  renderTexts();
  model.on("change:paths", renderMeta);
  model.on("change:header", renderMeta);
  model.on("change:texts", renderTexts);
  model.on("msg:custom", onMessage);
  return () => {
    if (frame) cancelAnimationFrame(frame);
    model.off("change:paths", renderMeta);
    model.off("change:header", renderMeta);
    model.off("change:texts", renderTexts);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
