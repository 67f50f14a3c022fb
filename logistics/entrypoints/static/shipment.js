// The shipment page: the sample form follows the chosen kind's schema.
document.addEventListener("DOMContentLoaded", () => {
  const catalogue = JSON.parse(document.getElementById("catalogue").textContent);
  const kinds = Object.fromEntries(catalogue.sampleKinds.map((k) => [k.code, k]));
  const form = document.getElementById("add-sample");
  if (form) {
    const kind = document.getElementById("sample-kind"), container = document.getElementById("sample-container");
    const fieldset = document.getElementById("sample-attributes");
    const proposal = JSON.parse(document.getElementById("shipment-data").textContent).proposal;
    const technique = { mx: "mx", cm: "cryo-em", sm: "saxs", ee: "xpdf", cy: "chemical-crystallography" }[proposal.slice(0, 2)];
    const fitKinds = () => {  // offer the kinds that go into the chosen container's type, the proposal's first
      const type = container.selectedOptions[0]?.dataset.type;
      for (const option of kind.options) option.hidden = type && !kinds[option.value].goesInto.includes(type);
      const visible = [...kind.options].filter((o) => !o.hidden);
      if (kind.selectedOptions[0]?.hidden || !kind.dataset.chosen) {
        kind.value = (visible.find((o) => kinds[o.value].technique === technique) || visible[0] || kind.options[0]).value;
      }
      schemaFields(fieldset, kinds[kind.value].schema);
    };
    kind.addEventListener("change", () => { kind.dataset.chosen = "1"; });
    container.addEventListener("change", fitKinds);
    kind.addEventListener("change", () => schemaFields(fieldset, kinds[kind.value].schema));
    fitKinds();
    submitOp(form, (data) => {
      const sample = data.addSample;
      if (sample.__typename !== "Sample") return false;
      show(form.querySelector(".result"), `Added ${sample.name} at position ${sample.position}.`, true);
      setTimeout(() => location.reload(), 400);
      return true;
    }, () => ({ attributes: schemaValues(fieldset) }));
  }
});
