/**
 * A parser of the Prometheus text exposition format (version 0.0.4), the one inference servers
 * serve at `/metrics`: `# TYPE` lines and samples `name{label="value",...} value [timestamp]`.
 *
 * Our own, small and tested (`tests/server_metrics_test.ts`), because the npm parser of the
 * format that runs in Deno, `parse-prometheus-text-format` 1.1.1, merges every label set of a
 * histogram into one series (its `flattenMetrics`), dropping `_sum`/`_count` as soon as the
 * series carry labels (every vLLM and SGLang series carries `model_name`), and takes garbage
 * lines as samples; a scraper must tell a server's metrics from an HTML error page.
 *
 * @module
 */

/** One sample line: the series name, its labels and its value. */
export interface Sample {
  /** Series name as written, e.g. `vllm:time_to_first_token_seconds_bucket`. */
  readonly name: string;
  /** Label names to values, `le` included. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value (`+Inf`, `-Inf` and `NaN` included). */
  readonly value: number;
}

/** A parsed exposition: its samples, and the type each `# TYPE` line declared by family. */
export interface Exposition {
  /** Every sample, in order. */
  readonly samples: readonly Sample[];
  /** Family name to `counter`, `gauge`, `histogram`, `summary` or `untyped`. */
  readonly types: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const TYPE_LINE =
  /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(counter|gauge|histogram|summary|untyped)\s*$/;

/**
 * Parses `text`; throws an `Error` naming the first line that is not the format (1-based) and
 * its start, so that a scrape of something else (an HTML page, JSON) is refused as a whole.
 *
 * @example
 * ```ts
 * const { samples } = parsePrometheusText('vllm:num_requests_running{model_name="m"} 3\n');
 * samples[0].value; // 3
 * ```
 */
export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const lines = text.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const type = TYPE_LINE.exec(line);
      if (type !== null) types.set(type[1], type[2]);
      continue;
    }
    const sample = parseSample(line);
    if (sample === undefined) {
      throw new Error(
        `line ${index + 1} is not a Prometheus sample: '${line.slice(0, 40)}'`,
      );
    }
    samples.push(sample);
  }
  return { samples, types };
}

function parseSample(line: string): Sample | undefined {
  const match = SAMPLE.exec(line);
  if (match === null) return undefined;
  const labels = match[2] === undefined ? {} : parseLabels(match[2]);
  const value = parseValue(match[3]);
  if (labels === undefined || value === undefined) return undefined;
  return { name: match[1], labels, value };
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (match === null) return text.slice(at).trim() === "" ? labels : undefined;
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => c === "n" ? "\n" : c);
  }
  return labels;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  return text !== "" && !Number.isNaN(value) ? value : undefined;
}
