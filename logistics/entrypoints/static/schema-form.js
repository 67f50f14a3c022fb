// A form generated from a sample kind's JSON Schema: one field per property, typed as the schema says.
function schemaFields(fieldset, schema) {
  fieldset.querySelectorAll("label, p, fieldset").forEach((el) => el.remove());
  const required = new Set(schema.required || []);
  for (const [name, spec] of Object.entries(schema.properties || {})) {
    if (name === "name") continue;  // the sample's own name field
    if (spec.type === "object" && spec.properties) {  // a unit cell: one number field per part, not JSON
      const group = document.createElement("fieldset");
      group.className = "parts";
      const legend = document.createElement("legend");
      legend.textContent = (spec.title || name) + (required.has(name) ? " *" : "") + " (all or none)";
      if (spec.description) group.title = spec.description;
      group.append(legend);
      for (const [part, partSpec] of Object.entries(spec.properties)) {
        const label = document.createElement("label");
        label.textContent = partSpec.title || part;
        label.append(numberInput(`${name}.${part}`, partSpec));
        group.append(label);
      }
      fieldset.append(group);
      continue;
    }
    const label = document.createElement("label");
    label.textContent = (spec.title || name) + (required.has(name) ? " *" : "");
    if (spec.description) label.title = spec.description;
    let input;
    if (spec.enum) {
      input = document.createElement("select");
      if (!required.has(name)) input.append(new Option("", ""));
      for (const value of spec.enum) input.append(new Option(String(value), String(value)));
    } else if (spec.type === "boolean") {
      input = document.createElement("select");
      input.append(new Option("", ""), new Option("yes", "true"), new Option("no", "false"));
    } else {
      input = document.createElement("input");
      if (spec.type === "number" || spec.type === "integer") {
        input.type = "number";
        input.step = spec.type === "integer" ? "1" : "any";
        if (spec.minimum !== undefined) input.min = spec.minimum;
        if (spec.maximum !== undefined) input.max = spec.maximum;
      }
      if (spec.maxLength) input.maxLength = spec.maxLength;
    }
    input.name = name;
    input.dataset.schemaType = spec.type || "string";
    input.required = required.has(name);
    input.autocomplete = "off";
    label.append(input);
    fieldset.append(label);
  }
}

// A number field with the schema's bounds; the browser refuses a non-number or an out-of-range value.
function numberInput(name, spec) {
  const input = document.createElement("input");
  input.type = "number";
  input.step = spec.type === "integer" ? "1" : "any";
  if (spec.minimum !== undefined) input.min = spec.minimum;
  if (spec.maximum !== undefined) input.max = spec.maximum;
  input.name = name;
  input.dataset.schemaType = spec.type || "number";
  input.autocomplete = "off";
  input.inputMode = "decimal";
  return input;
}

// The attribute values as the schema types them; empty fields are left out. "unit_cell.a" is part
// a of unit_cell: a whole with some parts empty is sent as it is, and the server names the missing ones.
function schemaValues(fieldset) {
  const values = {};
  for (const input of fieldset.querySelectorAll("input, select")) {
    if (input.value === "") continue;
    const type = input.dataset.schemaType;
    let value = input.value;
    if (type === "number") value = parseFloat(input.value);
    else if (type === "integer") value = parseInt(input.value, 10);
    else if (type === "boolean") value = input.value === "true";
    const [whole, part] = input.name.split(".");
    if (part) (values[whole] ||= {})[part] = value;
    else values[input.name] = value;
  }
  return values;
}
