// The selected layer's settings: a form generated from its JSON Schema (/api/layers), with the
// server's validation errors shown at each field.

import { clear, field, h, keepFocus, showFieldError } from "./dom.js";

function kinds(schema) {
  const options = schema.anyOf || [schema];
  return new Set(options.map((o) => (o.enum ? "enum" : o.type || "any")));
}

/** A form control for one argument and a reader that turns its value back into JSON (undefined: omitted). */
export function control(schema, value) {
  const k = kinds(schema);
  const enumOption = (schema.anyOf || [schema]).find((o) => o.enum);
  if (enumOption) {
    const select = h("select", {},
      h("option", { value: "", text: schema.default !== undefined ? `default (${schema.default})` : "—" }),
      enumOption.enum.map((v) => h("option", { value: v, text: v })));
    select.value = value ?? "";
    return [select, () => (select.value === "" ? undefined : select.value)];
  }
  if (k.has("boolean") && k.size <= 2 && (k.size === 1 || k.has("null"))) {
    const box = h("input", { type: "checkbox", checked: value ?? schema.default ?? false });
    return [box, () => (box.checked === (schema.default ?? false) && value === undefined ? undefined : box.checked)];
  }
  if ([...k].every((t) => t === "integer" || t === "number" || t === "null")) {
    const input = h("input", { type: "number", step: k.has("integer") ? "1" : "any",
      placeholder: schema.default !== undefined && schema.default !== null ? String(schema.default) : "",
      value: value ?? "" });
    return [input, () => (input.value === "" ? undefined : Number(input.value))];
  }
  const input = h("input", { type: "text", value: value === undefined ? "" : display(value),
    placeholder: schema.default !== undefined && schema.default !== null ? display(schema.default) : "" });
  return [input, () => parseValue(input.value, k)];
}

function display(value) {
  return Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : JSON.stringify(value);
}

export function parseValue(text, k = new Set(["any"])) {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^-?\d+(\.\d+)?(\s*,\s*-?\d+(\.\d+)?)+$/.test(t)) return t.split(",").map((x) => Number(x.trim()));
  try {
    return JSON.parse(t);
  } catch {
    return k.has("string") || k.has("any") ? t : t;
  }
}

export class LayerForm extends EventTarget {
  constructor(root, draft) {
    super();
    this.root = root;
    this.draft = draft;
    this.catalog = new Map();
    this.uid = null;
    this.errors = [];
    this.render();
  }

  setCatalog(catalog) {
    this.catalog = new Map(catalog.map((t) => [t.type, t]));
  }

  show(uid, errors = this.errors) {
    this.uid = uid;
    this.errors = errors;
    this.render();
  }

  render() {
    keepFocus(this.root, () => this.renderNow());
  }

  renderNow() {
    const place = this.uid ? this.draft.find(this.uid) : null;
    if (!place) {
      clear(this.root, h("p", { class: "empty", text: "Select a layer in the network to edit its arguments." }));
      return;
    }
    const { node, path, address } = place;
    const errorAt = (key) => this.errors.filter((e) => e.path === `${path}.${key}`).map((e) => e.msg).join("; ");
    const parts = [h("h2", { text: `Layer ${address}: ${node.kind === "tie" ? "tie" : node.type}` })];
    if (node.kind === "tie") {
      const select = h("select", { onchange: () => this.draft.update(node.uid, { tie: select.value }) },
        this.draft.names().map((n) => h("option", { value: n, text: n })));
      select.value = node.tie;
      parts.push(h("p", { text: "The very same module as the entry with this name: its parameters are shared." }),
        field("Same module as", select));
    } else {
      const nameInput = h("input", { type: "text", value: node.name || "", placeholder: "optional; needed to tie",
        dataset: { focus: `${node.uid}:name` }, onchange: () => this.draft.update(node.uid, { name: nameInput.value.trim() }) });
      const nameField = field("Name", nameInput);
      showFieldError(nameField, errorAt("name"));
      parts.push(nameField);
    }
    if (node.kind === "layer") {
      const info = this.catalog.get(node.type);
      if (info) parts.push(h("p", { class: "doc", text: info.doc }), this.argumentFields(node, info, errorAt));
    }
    const other = this.errors.filter((e) => e.path === path).map((e) => e.msg).join("; ");
    if (other) parts.push(h("p", { class: "field-error", role: "alert", text: other }));
    clear(this.root, parts);
  }

  argumentFields(node, info, errorAt) {
    const properties = info.schema.properties || {};
    const required = new Set(info.schema.required || []);
    const readers = {};
    const fields = Object.entries(properties).map(([key, schema]) => {
      const [input, read] = control(schema, node.args[key]);
      readers[key] = read;
      input.dataset.focus = `${node.uid}:${key}`;
      const event = input.type === "checkbox" || input.tagName === "SELECT" ? "change" : "input";
      input.addEventListener(event, () => {  // as you type: shapes and errors follow each keystroke
        const args = {};
        for (const [k, r] of Object.entries(readers)) {
          const v = r();
          if (v !== undefined) args[k] = v;
        }
        this.draft.update(node.uid, { args });
      });
      const f = field(`${key}${required.has(key) ? " *" : ""}`, input);
      showFieldError(f, errorAt(key));
      return f;
    });
    const unknown = Object.keys(node.args).filter((k) => !(k in properties));
    return h("form", { class: "args-form", onsubmit: (e) => e.preventDefault() }, fields,
      unknown.map((k) => h("p", { class: "field-error", role: "alert", text: `${k}: ${errorAt(k) || "unknown"}` })));
  }
}
