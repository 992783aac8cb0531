// Building DOM nodes: createElement and textContent only, never innerHTML with data.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else if (key === "checked") node.checked = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/**
 * Re-render `root` with `render()` without losing the keyboard focus: the element that had it is
 * found again by its data-focus key (and a text field keeps its caret).
 */
export function keepFocus(root, render) {
  const active = document.activeElement;
  const key = active && root.contains(active) ? active.dataset.focus : null;
  const caret = key && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
  render();
  if (!key) return;
  const again = root.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (!again) return;
  again.focus();
  if (caret && typeof again.setSelectionRange === "function") {
    try { again.setSelectionRange(...caret); } catch { /* number inputs have no caret */ }
  }
}

let labelCount = 0;

/** A labelled form control: <label for=id>text</label> + the control. */
export function field(text, control, hint = null) {
  labelCount += 1;
  control.id = control.id || `f${labelCount}`;
  return h("div", { class: "field" },
    h("label", { for: control.id, text }),
    control,
    hint ? h("div", { class: "hint", text: hint }) : null,
    h("div", { class: "field-error", role: "alert", hidden: true }));
}

export function showFieldError(fieldNode, message) {
  const slot = fieldNode.querySelector(".field-error");
  slot.textContent = message || "";
  slot.hidden = !message;
  fieldNode.classList.toggle("invalid", Boolean(message));
}

export function formatNumber(x, digits = 4) {
  if (x === null || x === undefined) return "–";
  if (typeof x === "string") return x;
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const abs = Math.abs(x);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? x.toExponential(digits - 1) : x.toFixed(digits);
}

export function shapeText(shape) {
  return shape ? `[${shape.join(", ")}]` : "shape pending";
}

/** Disable a control while a promise runs, so an operation cannot be fired twice. */
export async function whileBusy(control, promise) {
  const controls = Array.isArray(control) ? control : [control];
  for (const c of controls) { c.disabled = true; c.setAttribute("aria-busy", "true"); }
  document.body.classList.add("busy");
  try {
    return await promise;
  } finally {
    for (const c of controls) { c.disabled = false; c.removeAttribute("aria-busy"); }
    document.body.classList.remove("busy");
  }
}

export function tieColour(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${hash}, 65%, 45%)`;
}
