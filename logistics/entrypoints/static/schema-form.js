// A form generated from a sample kind's JSON Schema: one field per property, typed as the schema says.
function schemaFields(fieldset, schema) {
  fieldset.querySelectorAll("label, p").forEach((el) => el.remove());
  const required = new Set(schema.required || []);
  for (const [name, spec] of Object.entries(schema.properties || {})) {
    if (name === "name") continue;  // the sample's own name field
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
    } else if (spec.type === "object") {
      input = document.createElement("input");
      input.placeholder = "JSON, e.g. " + JSON.stringify(Object.fromEntries(Object.keys(spec.properties || {}).map((k) => [k, 0])));
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

// The attribute values as the schema types them; empty fields are left out.
function schemaValues(fieldset) {
  const values = {};
  for (const input of fieldset.querySelectorAll("input, select")) {
    if (input.value === "") continue;
    const type = input.dataset.schemaType;
    if (type === "number") values[input.name] = parseFloat(input.value);
    else if (type === "integer") values[input.name] = parseInt(input.value, 10);
    else if (type === "boolean") values[input.name] = input.value === "true";
    else if (type === "object") { try { values[input.name] = JSON.parse(input.value); } catch (e) { values[input.name] = input.value; } }
    else values[input.name] = input.value;
  }
  return values;
}
