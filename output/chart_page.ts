/**
 * The shell of llmload's stand-alone chart pages (`llmload report`, `llmload sweep --html`): one
 * self-contained document with uPlot, its stylesheet, the page's data as JSON and the page's own
 * script inline, so it opens offline. uPlot comes in as text imports, so the compiled binary
 * carries it.
 *
 * @example
 * ```ts
 * const page = chartPage({ title: "t", dataId: "llmload-runs", data: {}, script: "", body: "" });
 * ```
 *
 * @module
 */
import uplotScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import { escapeHtml } from "./html_report.ts";

/** What one chart page holds besides the shared shell. */
export interface ChartPageParts {
  /** The page title, also its heading; escaped here. */
  readonly title: string;
  /** HTML between the heading and the charts (already escaped by the caller). */
  readonly body: string;
  /** Id of the JSON data element the script reads. */
  readonly dataId: string;
  /** The data; secrets already scrubbed. */
  readonly data: unknown;
  /** The page's script, run after uPlot. */
  readonly script: string;
  /** Extra CSS for the page. */
  readonly style?: string;
}

/**
 * The page: `<` in the data escaped, so no text in it can end its script element early or open a
 * comment.
 */
export function chartPage(parts: ChartPageParts): string {
  const json = JSON.stringify(parts.data).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(parts.title)}</title>
<style>
${uplotStyle}
body { font-family: system-ui, sans-serif; margin: 16px; color: #111827; }
.chart { margin: 0 0 24px; }
${parts.style ?? ""}
</style>
</head>
<body>
<h1>${escapeHtml(parts.title)}</h1>
${parts.body}
<div id="charts"></div>
<script type="application/json" id="${parts.dataId}">${json}</script>
<script>
${uplotScript}
</script>
<script>
${parts.script}
</script>
</body>
</html>
`;
}
