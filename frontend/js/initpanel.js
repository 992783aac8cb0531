// Initialization: rules in order (a scheme per layer, per type or for all, with its arguments, or an
// expression over w), a seed, and presets for the builder's guide's examples.

import { clear, field, h, showFieldError } from "./dom.js";
import { control } from "./layerform.js";

export const PRESETS = {
  "init_normal": [
    { target: "type:Linear", param: "weight", scheme: "normal", args: { mean: 0, std: 0.01 } },
    { target: "type:Linear", param: "bias", scheme: "zeros", args: {} }],
  "xavier on 0, 42 on 2": [
    { target: "layer:0", param: "weight", scheme: "xavier_uniform", args: {} },
    { target: "layer:2", param: "weight", scheme: "constant", args: { val: 42 } }],
  "my_init": [
    { target: "type:Linear", param: "weight", scheme: "uniform", args: { a: -10, b: 10 } },
    { target: "type:Linear", param: "weight", scheme: "expression", args: { expr: "w * (abs(w) >= 5)" } }],
};

export class InitPanel extends EventTarget {
  constructor(root) {
    super();
    this.root = root;
    this.schemes = new Map();
    this.model = null;
    this.rules = [{ target: "all", param: "weight", scheme: "normal", args: {} }];
    this.errors = [];
    this.seed = h("input", { type: "number", min: "0", step: "1", placeholder: "random" });
    this.apply = h("button", { type: "button", class: "primary", onclick: () => this.submit() }, "Apply");
    this.list = h("ol", { class: "rules" });
    this.render();
  }

  setSchemes(catalog) {
    this.schemes = new Map(catalog.map((s) => [s.scheme, s]));
    this.render();
  }

  setModel(model) {
    this.model = model;
    this.render();
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.render();
  }

  request() {
    const rules = this.rules.map((rule) => {
      const out = { param: rule.param, scheme: rule.scheme, ...rule.args };
      if (rule.target.startsWith("layer:")) out.layers = [rule.target.slice(6)];
      if (rule.target.startsWith("type:")) out.types = [rule.target.slice(5)];
      return out;
    });
    const seed = this.seed.value === "" ? undefined : Number(this.seed.value);
    return seed === undefined ? { rules } : { seed, rules };
  }

  submit() {
    if (this.apply.disabled) return;  // busy: a synthetic or queued click must not fire it twice
    this.dispatchEvent(new CustomEvent("apply", { detail: { request: this.request(), button: this.apply } }));
  }

  showErrors(errors) {
    this.errors = errors;
    this.render();
  }

  render() {
    const ready = this.model && this.model.materialized && !this.readOnly;
    const presets = h("div", { class: "presets" }, h("span", { text: "Builder's guide presets:" }),
      Object.entries(PRESETS).map(([name, rules]) => h("button", {
        type: "button", onclick: () => { this.rules = rules.map((r) => ({ ...r, args: { ...r.args } })); this.errors = []; this.render(); },
      }, name)));
    clear(this.list, this.rules.map((rule, i) => this.card(rule, i)));
    const general = this.errors.filter((e) => !/^rules\[\d+\]/.test(e.path));
    clear(this.root,
      h("h2", { text: "Initialize" }),
      this.readOnly ? h("p", { class: "notice", text: "You are viewing an old version: go back to the current one "
        + "(History) to initialize." }) : null,
      ready || this.readOnly ? null : h("p", { class: "notice",
        text: "Build the network and materialize it (give an input shape) to initialize it." }),
      presets, this.list,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => { this.rules.push({ target: "all", param: "weight", scheme: "normal", args: {} }); this.render(); } },
          "Add rule"),
        field("Seed", this.seed), this.apply),
      general.length ? h("p", { class: "field-error", role: "alert", text: general.map((e) => e.msg).join("; ") }) : null);
    this.apply.disabled = !ready;
  }

  targets() {
    const layers = (this.model?.layers || []).filter((l) => l.param_count > 0 && !l.tied_to && l.type !== "Sequential");
    const types = [...new Set(layers.map((l) => l.type))];
    return [["all", "All layers"], ...types.map((t) => [`type:${t}`, `Every ${t}`]),
      ...layers.map((l) => [`layer:${l.address}`, `Layer ${l.address} (${l.type})`])];
  }

  card(rule, i) {
    const errorsHere = this.errors.filter((e) => e.path === `rules[${i}]` || e.path.startsWith(`rules[${i}].`));
    const target = h("select", { onchange: () => { rule.target = target.value; } },
      this.targets().map(([value, text]) => h("option", { value, text })));
    if (![...target.options].some((o) => o.value === rule.target)) {
      target.append(h("option", { value: rule.target, text: rule.target }));
    }
    target.value = rule.target;
    const param = h("select", { onchange: () => { rule.param = param.value; } },
      [["weight", "weight"], ["bias", "bias"], ["*", "all parameters"]].map(([v, t]) => h("option", { value: v, text: t })));
    param.value = rule.param;
    const scheme = h("select", { onchange: () => { rule.scheme = scheme.value; rule.args = {}; this.render(); } },
      [...this.schemes.keys()].map((s) => h("option", { value: s, text: s })));
    scheme.value = rule.scheme;
    const info = this.schemes.get(rule.scheme);
    const argFields = Object.entries(info?.schema.properties || {}).map(([key, schema]) => {
      let input;
      let read;
      if (key === "expr") {
        input = h("textarea", { rows: 2, spellcheck: "false", placeholder: "w * (abs(w) >= 5)" });
        input.value = rule.args.expr || "";
        read = () => input.value;
      } else {
        [input, read] = control(schema, rule.args[key]);
      }
      input.addEventListener("change", () => {
        const v = read();
        if (v === undefined) delete rule.args[key]; else rule.args[key] = v;
      });
      const f = field(key === "expr" ? "Expression" : key, input);
      showFieldError(f, errorsHere.filter((e) => e.path === `rules[${i}].${key}`).map((e) => e.msg).join("; "));
      return f;
    });
    const rest = errorsHere.filter((e) => !argFields.length || !Object.keys(info?.schema.properties || {})
      .some((k) => e.path === `rules[${i}].${k}`));
    return h("li", { class: "rule", "aria-label": `Rule ${i + 1}` },
      h("div", { class: "rule-head" }, h("strong", { text: `Rule ${i + 1}` }),
        h("button", { type: "button", "aria-label": `Remove rule ${i + 1}`,
          onclick: () => { this.rules.splice(i, 1); this.render(); } }, "Remove")),
      h("div", { class: "rule-fields" }, field("Target", target), field("Parameter", param), field("Scheme", scheme),
        argFields),
      info ? h("p", { class: "doc", text: info.doc }) : null,
      rest.length ? h("p", { class: "field-error", role: "alert", text: rest.map((e) => e.msg).join("; ") }) : null);
  }
}
