// The beamline: scan a container and a position to load it; the map follows the live feed without
// reloading, and highlights each position that changed; an unload can be undone for UNDO_SECONDS.
const UNDO_SECONDS = 30, HIGHLIGHT_MS = 4000;

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("load"), barcode = document.getElementById("load-barcode");
  const position = document.getElementById("load-position"), map = document.getElementById("map");
  const undo = document.getElementById("undo"), live = document.getElementById("live");
  const instrument = map.dataset.instrument;

  // The page as the server renders it now (through the same Session as the first render): only the
  // positions whose signature changed are swapped in, so focus and typing elsewhere are kept.
  let pending = null, again = false;
  function refresh() {
    if (pending) { again = true; return pending; }
    pending = (async () => {
      try {
        do {
          again = false;
          const response = await fetch(location.pathname, { credentials: "same-origin", headers: { accept: "text/html" } });
          if (response.redirected && new URL(response.url).pathname === "/login") { location.reload(); return; }
          if (!response.ok) return;
          const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
          for (const item of fresh.querySelectorAll("#map > li.slot")) {
            const old = map.querySelector(`:scope > li.slot[data-position="${CSS.escape(item.dataset.position)}"]`);
            if (!old || old.dataset.state === item.dataset.state) continue;
            const placed = document.importNode(item, true);
            old.replaceWith(placed);
            highlight(placed);
          }
          const count = fresh.getElementById("occupancy");
          if (count) document.getElementById("occupancy").textContent = count.textContent;
        } while (again);
      } catch (error) { /* offline for a moment: the next event or reconnect refreshes again */ }
      finally { pending = null; }
    })();
    return pending;
  }
  function highlight(item) {
    item.classList.add("changed");
    setTimeout(() => item.classList.remove("changed"), HIGHLIGHT_MS);
  }

  // A scanner's Enter after the container barcode moves on to the position.
  barcode.addEventListener("keydown", (e) => { if (e.key === "Enter" && !position.value) { e.preventDefault(); position.focus(); } });
  submitOp(form, (data) => {
    const c = data.loadContainer;
    if (c.__typename !== "Container") return false;
    beep("received");
    show(form.querySelector(".result"), `LOADED ${c.barcode} into ${instrument} position ${c.loaded.position}`, true);
    barcode.value = position.value = "";
    barcode.focus();
    refresh();
    return true;
  });

  // Unload at once (the puck is already in the hand); offer to put it back where it was.
  map.addEventListener("submit", async (event) => {
    const unload = event.target.closest("form.unload");
    if (!unload) return;
    event.preventDefault();
    const slot = unload.closest("li.slot"), button = unload.querySelector("button"), result = unload.querySelector(".result");
    const puck = unload.elements.barcode.value, where = slot.dataset.position;
    button.disabled = true;
    try {
      const value = outcome(await gql("UnloadContainer", { barcode: puck }));
      if (value.__typename !== "Container") { show(result, value.message, false); return; }
      beep("moved");
      offerUndo(puck, where);
      await refresh();
    } catch (error) {
      show(result, "Not saved: " + error.message + ". Check your connection and try again.", false);
    } finally {
      button.disabled = false;
    }
  });

  // Undo is a load back into the same position: recorded as a load of its own, not an erasure.
  let countdown = null;
  const text = undo.querySelector(".text"), left = undo.querySelector(".left"), undoButton = document.getElementById("undo-button");
  function offerUndo(puck, where) {
    clearInterval(countdown);
    let seconds = UNDO_SECONDS;
    undo.hidden = false;
    undo.className = "undo";
    undoButton.hidden = false;
    undoButton.disabled = false;
    text.textContent = `Unloaded ${puck} from ${instrument} position ${where}.`;
    undoButton.setAttribute("aria-label", `Undo: load ${puck} back into position ${where}`);
    undoButton.onclick = async () => {
      undoButton.disabled = true;
      try {
        const value = outcome(await gql("LoadContainer", { barcode: puck, instrument, position: where }));
        clearInterval(countdown);
        if (value.__typename !== "Container") {
          undo.className = "undo bad";
          text.textContent = `Not loaded back: ${value.message}`;
        } else {
          text.textContent = `Loaded ${puck} back into ${instrument} position ${where}.`;
          beep("received");
          refresh();
        }
        undoButton.hidden = true;
        left.textContent = "";
        countdown = setTimeout(() => { undo.hidden = true; }, 5000);
      } catch (error) {
        undoButton.disabled = false;
        text.textContent = `Not loaded back: ${error.message}. Check your connection and try again.`;
      }
    };
    const tick = () => {
      left.textContent = `${seconds} s`;
      if (seconds-- <= 0) { clearInterval(countdown); undo.hidden = true; }
    };
    tick();
    countdown = setInterval(tick, 1000);
  }

  subscribe("BeamlineFeed", { instrument }, () => refresh(), (state) => {
    live.dataset.state = state;
    live.textContent = state === "live" ? "live" : "reconnecting…";
    if (state === "live") refresh();  // whatever happened while the connection was down
  });
});
