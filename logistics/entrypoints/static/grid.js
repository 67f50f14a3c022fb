// The container page's grid: one row per position, the sample kind's fields as columns, typed like a
// spreadsheet (Tab right, Enter down, paste a tab-separated block), saved in one request; every bad
// cell comes back marked where it is, with its message.
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("grid-data").textContent);
  const table = document.getElementById("grid");
  const kindSelect = document.getElementById("grid-kind");
  const result = document.getElementById("grid-result");
  const state = structuredClone(data.rows);  // position -> {column: text}

  const columnsOf = (kind) => [{ column: "sample_name", title: "Sample name", type: "string", required: true, allowed: [] },
                               ...data.kinds[kind].columns];

  const datalists = new Map();
  const listFor = (column, allowed) => {  // enum columns offer their values (typing stays free: the server checks)
    if (column === "protein_acronym") return "acronyms";
    if (!allowed.length) return null;
    const id = `allowed-${column}`;
    if (!datalists.has(id)) {
      const list = document.createElement("datalist");
      list.id = id;
      for (const value of allowed) list.append(new Option(value, value));
      document.body.append(list);
      datalists.set(id, list);
    }
    return id;
  };

  const remember = () => {
    for (const input of table.querySelectorAll("input")) {
      (state[input.dataset.pos] ||= {})[input.dataset.col] = input.value;
    }
  };

  const render = () => {
    const columns = columnsOf(kindSelect.value);
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    const corner = document.createElement("th");
    corner.textContent = "Pos.";
    head.append(corner);
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = c.title + (c.required ? " *" : "");
      th.title = c.description || c.column;
      th.dataset.col = c.column;
      head.append(th);
    }
    const body = table.createTBody();
    data.positions.forEach((position, rowIndex) => {
      const tr = body.insertRow();
      tr.dataset.pos = position;
      const pos = tr.insertCell();
      pos.className = "pos";
      pos.textContent = position;
      columns.forEach((c, colIndex) => {
        const td = tr.insertCell();
        td.dataset.col = c.column;
        const input = document.createElement("input");
        input.dataset.pos = position;
        input.dataset.col = c.column;
        input.dataset.row = rowIndex;
        input.dataset.colIndex = colIndex;
        input.autocomplete = "off";
        input.spellcheck = false;
        input.setAttribute("aria-label", `Position ${position}, ${c.title}`);
        if (c.type === "number" || c.type === "integer") { input.inputMode = "decimal"; input.className = "num"; }
        if (c.column === "sample_name") input.className = "name";
        const list = listFor(c.column, c.allowed);
        if (list) input.setAttribute("list", list);
        input.value = state[position]?.[c.column] ?? "";
        td.append(input);
      });
    });
  };

  const cell = (row, col) => table.querySelector(`input[data-row="${row}"][data-col-index="${col}"]`);

  table.addEventListener("keydown", (event) => {
    const input = event.target;
    if (event.key !== "Enter" || !input.matches("input")) return;
    event.preventDefault();  // Enter moves down (Shift+Enter up), as in a spreadsheet; it never submits
    const next = cell(Number(input.dataset.row) + (event.shiftKey ? -1 : 1), input.dataset.colIndex);
    if (next) { next.focus(); next.select(); }
  });

  table.addEventListener("paste", (event) => {
    const input = event.target;
    const text = event.clipboardData?.getData("text/plain") ?? "";
    if (!input.matches("input") || !/[\t\n]/.test(text)) return;  // one value: the browser pastes it
    event.preventDefault();
    const lines = text.replace(/\r/g, "").split("\n");
    if (lines.at(-1) === "") lines.pop();  // a spreadsheet's copy ends with a newline
    const row0 = Number(input.dataset.row), col0 = Number(input.dataset.colIndex);
    lines.forEach((line, r) => line.split("\t").forEach((value, c) => {
      const target = cell(row0 + r, col0 + c);
      if (target) target.value = value.trim();
    }));
  });

  kindSelect.addEventListener("change", () => { remember(); render(); });

  const clearMarks = () => {
    for (const td of table.querySelectorAll("td.bad")) {
      td.classList.remove("bad");
      td.querySelector(".cell-error")?.remove();
      td.querySelector("input")?.removeAttribute("aria-invalid");
    }
  };

  const mark = (error) => {
    const row = table.querySelector(`tr[data-pos="${CSS.escape(error.position)}"]`);
    const td = row?.querySelector(`td[data-col="${CSS.escape(error.column)}"]`) || row?.querySelector('td[data-col="sample_name"]');
    if (!td) return null;
    td.classList.add("bad");
    const note = document.createElement("small");
    note.className = "cell-error";
    const [before, after] = error.message.split("see the list");
    note.append(before);
    if (after !== undefined) {  // the allowed values are a page away
      const link = document.createElement("a");
      link.href = `/sample-kinds/${encodeURIComponent(kindSelect.value)}#${encodeURIComponent(error.column)}`;
      link.target = "_blank";
      link.textContent = "see the list";
      note.append(link, after);
    }
    td.append(note);
    const input = td.querySelector("input");
    input.setAttribute("aria-invalid", "true");
    return input;
  };

  document.getElementById("grid-save").addEventListener("click", async () => {
    remember();
    clearMarks();
    const kind = kindSelect.value;
    const columns = columnsOf(kind).map((c) => c.column);
    const rows = data.positions.map((position) => {
      const row = { position, sample_kind: kind };
      for (const c of columns) row[c] = state[position]?.[c] ?? "";
      return row;
    });
    result.className = "result";
    result.textContent = "Saving…";
    const response = await fetch(`/containers/${encodeURIComponent(data.barcode)}/grid`, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ rows }),
    });
    const answer = await response.json();
    if (response.ok) {
      show(result, `Saved: ${answer.added} added, ${answer.changed} changed, ${answer.removed} removed.`, true);
      setTimeout(() => location.reload(), 800);
      return;
    }
    result.className = "result bad";
    if (!answer.cells) { result.textContent = answer.error; return; }
    const first = answer.cells.map(mark).find(Boolean);
    const n = answer.cells.length, where = answer.cells[0];
    const title = table.querySelector(`th[data-col="${CSS.escape(where.column)}"]`)?.textContent.replace(" *", "") || where.column;
    result.textContent = `${n} cell${n === 1 ? " is" : "s are"} wrong (${n === 1 ? "" : "first: "}position ${where.position}, ` +
      `${title}); nothing was saved. The marked cells say what each needs.`;
    first?.focus();  // scrolls the grid to it, on a phone too
  });

  render();
});
