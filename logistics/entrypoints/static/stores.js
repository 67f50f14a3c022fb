// The stores desk: a scan field that keeps focus; code + Enter; an unmistakable result at once.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("scan"), code = document.getElementById("code");
  const location_ = document.getElementById("location"), result = document.getElementById("scan-result");
  const unknown = document.getElementById("unknown-actions"), unexpected = document.getElementById("unexpected");
  const locations = new Set([...location_.options].map((o) => o.value));
  const remembered = "stores-location:" + form.dataset.station;  // each station keeps its own place
  let busy = Promise.resolve(), confirming = null;

  const say = (kind, text) => { result.className = "scan-result " + kind; result.textContent = text; beep(kind); };
  const scanned = (text) => {
    text = text.trim();
    if (text) busy = busy.then(() => handle(text));  // scans are handled in the order they were made
  };

  try {
    const place = localStorage.getItem(remembered);
    if (place && locations.has(place)) location_.value = place;
  } catch (e) { /* storage switched off: goods-in, as before */ }
  const remember = () => { try { localStorage.setItem(remembered, location_.value); } catch (e) { /* see above */ } };
  location_.addEventListener("change", remember);

  // Take over from the page head's early key buffer: what the scanner typed before this script
  // ran is replayed in order (each Enter ends a scan), and from now on keys reach the field.
  const early = window.earlyKeys || [];
  window.earlyKeys = null;
  let typed = code.value;
  for (const key of early) {
    if (key === "Enter") { scanned(typed); typed = ""; } else typed += key;
  }
  code.value = typed;
  code.focus({ preventScroll: true });  // on a phone, the title stays in view

  // Keep the keys in the scan field, unless the user is working in another field.
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t === code || (t.closest && t.closest("input, select, textarea, [contenteditable]")) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key.length === 1 || e.key === "Enter") code.focus({ preventScroll: true });
  }, true);
  document.addEventListener("click", (e) => {
    if (!e.target.closest("input, select, textarea, button, a, summary")) code.focus({ preventScroll: true });
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = code.value;
    code.value = "";
    scanned(text);
  });

  // Before a dewar goes to the dispatch area: is it still in use, or a puck of it in a sample changer?
  async function dispatchWarning(barcode) {
    if (!location_.selectedOptions[0] || !location_.selectedOptions[0].dataset.dispatch) return null;
    const found = (await gql("Lookup", { barcode })).lookup;
    if (!found || found.__typename !== "Dewar") return null;
    const loaded = (found.containers || []).filter((c) => c.loaded);
    const why = [];
    if (found.workflow === "in-use") why.push(`${found.barcode} is IN USE`);
    for (const c of loaded) why.push(`${c.type} ${c.barcode} is still in the ${c.loaded.instrument} sample changer position ${c.loaded.position}`);
    return why.length ? why.join("; ") : null;
  }

  async function handle(scanned) {
    unknown.hidden = true;
    if (locations.has(scanned.toLowerCase())) {
      location_.value = scanned.toLowerCase();
      remember();
      confirming = null;
      say("moved", `Location set: ${location_.selectedOptions[0].text}`);
      return;
    }
    result.className = "scan-result working";
    result.textContent = `Scanning ${scanned}…`;
    try {
      const confirmed = confirming && confirming === scanned.toLowerCase();
      confirming = null;
      if (!confirmed) {
        const warning = await dispatchWarning(scanned);
        if (warning) {
          confirming = scanned.toLowerCase();
          say("danger", `STOP: ${warning}. Not moved. Scan it again to move it to dispatch anyway.`);
          code.focus({ preventScroll: true });
          return;
        }
      }
      const data = await gql("ScanDewar", { barcode: scanned, location: location_.value });
      const r = data.scanDewar;
      if (r.__typename === "Scan") {
        const d = r.dewar;
        if (!r.changed) say("unchanged", `ALREADY HERE: ${d.barcode} is at ${d.where.text} (scanned twice, recorded once)`);
        else if (r.event === "Arrived") say("received", `RECEIVED ${d.barcode} (${d.proposal || "no proposal"}) at ${d.where.text}`);
        else say("moved", `MOVED ${d.barcode} to ${d.where.text} (${d.workflow})`);
      } else if (r.__typename === "UnknownBarcodeError") {
        say("unknown", `UNKNOWN: ${scanned} — nobody registered this barcode.`);
        unexpected.elements.barcode.value = scanned;
        unexpected.elements.location.value = location_.value;
        unknown.hidden = false;
      } else if (r.__typename === "InvalidBarcodeError") {
        say("invalid", `INVALID: ${r.message} Scan it again.`);
      } else {
        say("refused", `NOT DONE: ${r.message}`);
      }
    } catch (error) {
      say("refused", `NOT DONE: ${error.message}. Check the connection and scan again.`);
    }
    code.focus({ preventScroll: true });
  }

  submitOp(unexpected, (data) => {
    const d = data.recordUnexpectedArrival;
    if (d.__typename !== "Dewar") return false;
    say("received", `RECORDED unexpected arrival ${d.barcode} at ${d.where.text}`);
    unknown.hidden = true;
    code.focus({ preventScroll: true });
    return true;
  });

  const feed = document.getElementById("feed"), shownUpTo = Number(feed.dataset.after || 0);
  subscribe("StoresFeed", {}, (item) => {
    if (item.position <= shownUpTo) return;  // already in the page as rendered
    const e = item.event;
    if (feed.querySelector(".hint")) feed.innerHTML = "";
    const latest = feed.querySelector("li .sentence");
    if (latest && latest.textContent === e.sentence) return;  // a load is an event of the puck and of its dewar: told once
    const li = document.createElement("li");
    li.className = "new";
    li.innerHTML = `<time></time> <span class="sentence"></span> <span class="by"></span>`;
    li.querySelector("time").textContent = new Date(e.time).toLocaleTimeString();
    tell(li.querySelector(".sentence"), e.parts);
    li.querySelector(".by").textContent = `by ${e.who}${e.station && e.station !== e.who && e.station !== "web" ? " at " + e.station : ""}`;
    feed.prepend(li);
    while (feed.children.length > 50) feed.lastChild.remove();
  }, (state) => { feed.dataset.state = state; });
});
