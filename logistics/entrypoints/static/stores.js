// The stores desk: a scan field that keeps focus; code + Enter; an unmistakable result at once.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("scan"), code = document.getElementById("code");
  const location_ = document.getElementById("location"), result = document.getElementById("scan-result");
  const unknown = document.getElementById("unknown-actions"), unexpected = document.getElementById("unexpected");
  const locations = new Set([...location_.options].map((o) => o.value));
  let busy = Promise.resolve();

  const say = (kind, text) => { result.className = "scan-result " + kind; result.textContent = text; beep(kind); };
  // Keep the focus in the scan field, unless the user is working in another field.
  document.addEventListener("click", (e) => {
    if (!e.target.closest("input, select, textarea, button, a")) code.focus();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const scanned = code.value.trim();
    code.value = "";
    if (!scanned) return;
    busy = busy.then(() => handle(scanned));  // scans are handled in the order they were made
  });

  async function handle(scanned) {
    unknown.hidden = true;
    if (locations.has(scanned.toLowerCase())) {
      location_.value = scanned.toLowerCase();
      say("moved", `Location set: ${location_.selectedOptions[0].text}`);
      return;
    }
    result.className = "scan-result working";
    result.textContent = `Scanning ${scanned}…`;
    try {
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
    code.focus();
  }

  submitOp(unexpected, (data) => {
    const d = data.recordUnexpectedArrival;
    if (d.__typename !== "Dewar") return false;
    say("received", `RECORDED unexpected arrival ${d.barcode} at ${d.where.text}`);
    unknown.hidden = true;
    code.focus();
    return true;
  });

  const feed = document.getElementById("feed");
  subscribe("StoresFeed", {}, (item) => {
    const e = item.event;
    if (feed.querySelector(".hint")) feed.innerHTML = "";
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
