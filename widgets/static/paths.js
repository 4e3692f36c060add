// Live reasoning paths: one card per generation, text streamed by delta messages.
// State (synced traits): `paths` (card metadata), `texts` (full text, slower cadence),
// `header`. Messages: {type: "deltas", items: [{path, offset, text}]}. A delta whose
// offset is past the text we hold is a gap (a lost message): we wait for `texts`.

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
    c = { card, label, answer, status, text, value: "" };
    cards.set(p.id, c);
    return c;
  }

  function setText(c, value) {
    c.value = value;
    c.text.textContent = value;
  }

  function appendText(c, offset, piece) {
    if (offset > c.value.length) return; // gap: the next `texts` sync repairs it
    const tail = piece.slice(c.value.length - offset);
    if (!tail) return;
    const stick = c.text.scrollTop + c.text.clientHeight >= c.text.scrollHeight - 4;
    c.value += tail;
    c.text.append(document.createTextNode(tail));
    if (stick) c.text.scrollTop = c.text.scrollHeight;
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
    const texts = model.get("texts");
    for (const [id, value] of Object.entries(texts)) {
      const c = cards.get(id);
      if (!c) continue;
      // Keep what the deltas already drew when it extends the synced text.
      if (c.value.startsWith(value)) continue;
      setText(c, value);
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
    model.off("change:paths", renderMeta);
    model.off("change:header", renderMeta);
    model.off("change:texts", renderTexts);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
