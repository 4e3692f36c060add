// A results table: rows come from the `rows` trait; clicking a row sets `selected`.
function render({ model, el }) {
  const wrap = document.createElement("div");
  wrap.className = "wb-table-wrap";
  el.append(wrap);

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const selected = model.get("selected");
    const table = document.createElement("table");
    table.className = "wb-table";
    const head = table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c;
      head.append(th);
    }
    const body = table.createTBody();
    rows.forEach((row, i) => {
      const tr = body.insertRow();
      tr.className = i === selected ? "wb-row wb-row-selected" : "wb-row";
      tr.dataset.row = String(i);
      for (const v of row) {
        const td = tr.insertCell();
        td.textContent = v === null ? "" : String(v);
      }
      tr.addEventListener("click", () => {
        model.set("selected", i);
        model.save_changes();
      });
    });
    wrap.replaceChildren(table);
    const note = model.get("note");
    if (note) {
      const p = document.createElement("div");
      p.className = "wb-table-note";
      p.textContent = note;
      wrap.append(p);
    }
  }

  draw();
  for (const name of ["columns", "rows", "selected", "note"]) model.on(`change:${name}`, draw);
}

export default { render };
