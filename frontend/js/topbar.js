// The top bar: the model picker, the network's name, input shape and dtype, Build and Materialize.

import { clear, field, h, formatNumber, showFieldError } from "./dom.js";
import { parseShape } from "./state.js";

export class TopBar extends EventTarget {
  constructor(root, draft) {
    super();
    this.draft = draft;
    this.models = h("select", { onchange: () => this.emit("open", this.models.value) });
    this.name = h("input", { type: "text", size: 14, onchange: () => draft.setHeader({ name: this.name.value }) });
    this.shape = h("input", { type: "text", size: 10, placeholder: "e.g. 4 or 3, 32, 32",
      oninput: () => this.readShape() });
    this.dtype = h("select", { onchange: () => draft.setHeader({ dtype: this.dtype.value }) },
      ["float32", "float64", "float16", "bfloat16"].map((d) => h("option", { value: d, text: d })));
    this.shapeField = field("Input shape", this.shape);
    this.build = h("button", { type: "button", class: "primary",
      onclick: () => !this.build.disabled && this.emit("build") }, "Build");
    this.materialize = h("button", { type: "button", hidden: true,
      onclick: () => !this.materialize.disabled && this.emit("materialize") }, "Materialize");
    this.status = h("div", { class: "status", role: "status", "aria-live": "polite" });
    this.share = h("button", { type: "button", onclick: () => this.emit("share") }, "Copy spec link");
    clear(root,
      h("h1", { class: "brand" }, "LayerLab"),
      field("Model", this.models),
      field("Name", this.name),
      this.shapeField,
      field("dtype", this.dtype),
      h("div", { class: "actions" }, this.build, this.materialize, this.share),
      this.status);
    draft.addEventListener("change", () => this.syncFromDraft());
    this.syncFromDraft();
  }

  emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  readShape() {
    const shape = parseShape(this.shape.value);
    showFieldError(this.shapeField, shape === undefined ? "positive whole numbers, such as 3, 32, 32" : "");
    if (shape !== undefined) this.draft.setHeader({ inputShape: shape });
  }

  syncFromDraft() {
    if (document.activeElement !== this.name) this.name.value = this.draft.name;
    if (document.activeElement !== this.shape) this.shape.value = (this.draft.inputShape || []).join(", ");
    this.dtype.value = this.draft.dtype;
  }

  showModels(list, currentId) {
    clear(this.models,
      h("option", { value: "", text: "— new network —" }),
      list.map((m) => h("option", { value: m.id, text: `${m.name} · v${m.version} · ${m.id}` })));
    this.models.value = currentId || "";
  }

  /** model: the built model or null; modified: the draft differs from it; viewing: an old version or null. */
  showModel(model, { modified = false, viewing = null } = {}) {
    this.materialize.hidden = !model || model.materialized;
    this.build.textContent = model && !modified ? "Rebuild as new" : "Build";
    if (!model) {
      this.status.textContent = "Not built yet: Build creates the network on the server.";
      return;
    }
    const parts = [`v${model.version}`, `${formatNumber(model.param_count)} parameters`, model.device,
      model.materialized ? "materialized" : "lazy: shape pending"];
    if (modified) parts.push("draft changed since build");
    if (viewing) parts.push(`viewing v${viewing} (read-only)`);
    this.status.textContent = parts.join(" · ");
  }
}
