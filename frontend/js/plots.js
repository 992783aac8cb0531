// Plotly, loaded from the server (/vendor/plotly.min.js, the plotly package's own copy): no CDN.

export const plotConfig = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

export function plotly() {
  if (!window.Plotly) throw new Error("plotly.js did not load");
  return window.Plotly;
}

/** A histogram's outline as a step line: the "before" drawn over the "after" bars. */
export function outlineTrace(histogram, name, colour) {
  const { edges, counts } = histogram;
  return { type: "scatter", mode: "lines", x: edges, y: [...counts, counts[counts.length - 1]], name,
    line: { shape: "hv", color: colour, width: 1.5 }, hovertemplate: "%{x:.4g}: %{y}<extra>" + name + "</extra>" };
}

/** Bars for a histogram: {edges, counts} -> a bar trace at the bin centres, bars touching. */
export function histogramTrace(histogram, name, colour, opacity = 1) {
  const { edges, counts } = histogram;
  const centres = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  const widths = counts.map((_, i) => edges[i + 1] - edges[i]);
  return { type: "bar", x: centres, y: counts, width: widths, name, opacity,
    marker: { color: colour, line: { width: 0 } },
    hovertemplate: "%{x:.4g}: %{y}<extra>" + name + "</extra>" };
}
