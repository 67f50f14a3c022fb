// The beamline: scan a container and a position to load it; the map follows live events.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("load"), barcode = document.getElementById("load-barcode");
  const position = document.getElementById("load-position"), map = document.getElementById("map");
  const instrument = map.dataset.instrument;
  // A scanner's Enter after the container barcode moves on to the position.
  barcode.addEventListener("keydown", (e) => { if (e.key === "Enter" && !position.value) { e.preventDefault(); position.focus(); } });
  submitOp(form, (data) => {
    const c = data.loadContainer;
    if (c.__typename !== "Container") return false;
    beep("received");
    show(form.querySelector(".result"), `LOADED ${c.barcode} into ${instrument} position ${c.loaded.position}`, true);
    setTimeout(() => location.reload(), 500);
    return true;
  });
  let reload;
  const refresh = () => {  // show others' loads, but never while someone is typing a load
    if (barcode.value || position.value) { reload = setTimeout(refresh, 2000); return; }
    location.reload();
  };
  subscribe("BeamlineFeed", { instrument }, () => { clearTimeout(reload); reload = setTimeout(refresh, 700); });
});
