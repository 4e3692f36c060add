// A step-level search as a live tree: one <li> per step, children nested under parents.
// State (synced traits): `nodes` (id, parent, step, index, text, tail, status, score,
// answer, error, final, scored; parents before children), `header`. Messages:
// {type: "deltas", items: [{path, offset, text}]} grow a running step's text; a gap
// (offset past what we hold) is ignored: the next `nodes` sync carries the full text.
// Model text is only ever set with textContent (never parsed as HTML).

const TAIL = 80; // characters of a step's last line in its summary (tree_html.py: TAIL_CHARS)
const MARKS = { kept: "● kept", pruned: "○ pruned", unjudged: "◌ unjudged",
                running: "… running" };
const FINAL = "★ final";
const LEADING = "☆ leading";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tailOf(text) {
  const lines = text.trim().split("\n").filter((l) => l.trim());
  const last = lines.length ? lines[lines.length - 1].trim() : "";
  return last.length <= TAIL ? last : "…" + last.slice(last.length - (TAIL - 1));
}

function render({ model, el: root }) {
  root.classList.add("wb-tree-root", "wb-tree");
  const header = el("div", "wb-tree-header");
  const top = el("ul", "wb-tree-top");
  root.append(header, top);
  const items = new Map();

  function ensure(n) {
    let c = items.get(n.id);
    if (c) return c;
    const li = el("li", "wb-tree-node");
    li.dataset.nodeId = n.id;
    const details = el("details");
    const summary = el("summary");
    const mark = el("span", "wb-tree-mark");
    const meta = el("span", "wb-tree-meta");
    const tailEl = el("span", "wb-tree-tail");
    summary.append(mark, meta, tailEl);
    const error = el("div", "wb-tree-error");
    const text = el("pre", "wb-tree-text");
    details.append(summary, error, text);
    const kids = el("ul", "wb-tree-kids");
    li.append(details, kids);
    const parent = n.parent ? items.get(n.parent) : null;
    (parent ? parent.kids : top).append(li);
    c = { li, mark, meta, tailEl, error, text, kids, value: "" };
    items.set(n.id, c);
    return c;
  }

  function setValue(c, value) {
    c.value = value;
    c.text.textContent = value;
    c.tailEl.textContent = tailOf(value);
  }

  function renderNodes() {
    header.textContent = model.get("header");
    const nodes = model.get("nodes");
    const keep = new Set(nodes.map((n) => n.id));
    for (const [id, c] of items) {
      if (!keep.has(id)) { c.li.remove(); items.delete(id); }
    }
    for (const n of nodes) {
      const c = ensure(n);
      const final = n.final && n.status !== "running";
      c.li.className = "wb-tree-node wb-tree-" + n.status
        + (final ? (n.scored ? " wb-tree-final" : " wb-tree-leading") : "");
      c.li.dataset.status = n.status;
      c.li.dataset.final = String(final && n.scored);
      c.mark.textContent = MARKS[n.status] + (final ? " " + (n.scored ? FINAL : LEADING) : "");
      const bits = [` · step ${n.step} · #${n.index}`];
      if (n.score) bits.push(n.score);
      if (n.answer !== null && n.answer !== undefined) bits.push("answer " + n.answer);
      c.meta.textContent = bits.join(" · ") + " · ";
      c.error.textContent = n.error ? "scorer error: " + n.error : "";
      c.error.hidden = !n.error;
      // Keep streamed text that extends the synced text; otherwise take the synced one.
      if (!(c.value.length > n.text.length && c.value.startsWith(n.text))) setValue(c, n.text);
    }
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "deltas") return;
    for (const d of msg.items) {
      const c = items.get(d.path);
      if (!c || d.offset > c.value.length) continue; // unknown node or gap: wait for `nodes`
      const piece = d.text.slice(c.value.length - d.offset);
      if (piece) setValue(c, c.value + piece);
    }
  }

  renderNodes();
  model.on("change:nodes", renderNodes);
  model.on("change:header", renderNodes);
  model.on("msg:custom", onMessage);
  return () => {
    model.off("change:nodes", renderNodes);
    model.off("change:header", renderNodes);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
