/**
 * A minimal renderer of the Helm chart's templates, for the tests: no `helm` binary is
 * installable here (neither Debian nor npm ships one). The chart is kept to the Go-template
 * actions this renderer knows, and it refuses any other, so what the tests validate is what
 * `helm template` renders: `{{ .Values.a.b }}` and `{{ .Release.Name }}` (the value as text), and
 * whole-line `{{- if .Values.a.b }}` / `{{- end }}` blocks (Go's truth: false, 0, "" and a missing
 * value are false). Private to the tests.
 *
 * @module
 */

/** What a template sees: the chart's values and the release. */
export interface RenderContext {
  /** `.Values`: values.yaml with any overrides. */
  readonly Values: Readonly<Record<string, unknown>>;
  /** `.Release`: only its name. */
  readonly Release: { readonly Name: string };
}

const IF_LINE = /^\s*\{\{-?\s*if\s+(\.[A-Za-z][\w.]*)\s*-?\}\}\s*$/;
const END_LINE = /^\s*\{\{-?\s*end\s*-?\}\}\s*$/;
const VALUE = /\{\{-?\s*(\.[A-Za-z][\w.]*)\s*-?\}\}/g;

/** Renders one template; throws on an action outside the subset above or a missing value. */
export function renderTemplate(template: string, context: RenderContext): string {
  const kept: boolean[] = [];
  const lines: string[] = [];
  for (const line of template.split("\n")) {
    const opened = IF_LINE.exec(line);
    if (opened) {
      kept.push(truthy(lookup(context, opened[1], { missingIsFalse: true })));
      continue;
    }
    if (END_LINE.test(line)) {
      if (kept.pop() === undefined) throw new Error(`Unmatched {{ end }} in: ${line}`);
      continue;
    }
    if (kept.includes(false)) continue;
    const rendered = line.replace(VALUE, (_, path: string) => String(lookup(context, path)));
    if (rendered.includes("{{")) throw new Error(`Unsupported template action in: ${line}`);
    lines.push(rendered);
  }
  if (kept.length > 0) throw new Error("Unclosed {{ if }} block");
  return lines.join("\n");
}

function lookup(context: RenderContext, path: string, options = { missingIsFalse: false }) {
  let value: unknown = context;
  for (const key of path.slice(1).split(".")) {
    value = (value as Record<string, unknown> | undefined)?.[key];
  }
  if (value === undefined && !options.missingIsFalse) throw new Error(`No value at ${path}`);
  return value;
}

function truthy(value: unknown): boolean {
  return !(value === undefined || value === null || value === false || value === 0 ||
    value === "");
}
