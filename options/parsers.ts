/**
 * Value parsers of options: each takes the raw value (text, or the state of a switch given as a
 * flag) and returns the typed one, or throws {@link Rejected} with the accepted forms (a
 * {@link RejectedSecret} for values that may be a credential). Pure.
 *
 * @module
 */
import { DURATION_FORMS, MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from "./duration.ts";
import { PROVIDER_NAMES } from "../providers/mod.ts";

/** A parser of one option's value. */
export type Parser<T> = (value: string | boolean) => T;

/** A value a parser refuses; the message says what would be accepted. */
export class Rejected extends Error {}

/**
 * Thrown by the parser of a value that may be a secret (a key, a header): its message is the
 * whole reason, and the value is never quoted. `part` names what was wrong (` name`).
 */
export class RejectedSecret extends Error {
  /** The reason, and which `part` of the setting it is about (empty for the whole value). */
  constructor(readonly part: string, message: string) {
    super(message);
  }
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a non-empty text value. */
export function text(value: string | boolean): string {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected("a non-empty value");
  return value;
}

/** Parses a provider dialect name. */
export function provider(value: string | boolean): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (!PROVIDER_NAMES.includes(name)) throw new Rejected(listOf(PROVIDER_NAMES));
  return name;
}

/** Parses a switch. */
export function boolean(value: string | boolean): boolean {
  if (typeof value === "boolean") return value;
  const lower = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  throw new Rejected("true or false");
}

function decimal(value: string | boolean): number | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** A parser of whole numbers of at least `min`. */
export function wholeNumber(min: number): (value: string | boolean) => number {
  return function parseWholeNumber(value) {
    const number = typeof value === "string" && /^\s*\d+\s*$/.test(value)
      ? Number(value)
      : undefined;
    if (number === undefined || number < min || !Number.isSafeInteger(number)) {
      throw new Rejected(`a whole number of at least ${min}`);
    }
    return number;
  };
}

/** Parses a number greater than 0. */
export function positiveNumber(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number <= 0 || !Number.isFinite(number)) {
    throw new Rejected("a number greater than 0, such as 0.5 or 8");
  }
  return number;
}

/** Parses a number of at least 0. */
export function numberAtLeastZero(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || !Number.isFinite(number)) {
    throw new Rejected("a number of at least 0");
  }
  return number;
}

/**
 * A parser of one of `choices`; its type is the union of the choices.
 *
 * @example
 * ```ts
 * oneOf(["node", "fetch"])(" fetch "); // "fetch"
 * ```
 */
export function oneOf<const T extends string>(
  choices: readonly T[],
): (value: string | boolean) => T {
  return function parseChoice(value) {
    const choice = typeof value === "string" ? value.trim() : "";
    if (!(choices as readonly string[]).includes(choice)) throw new Rejected(listOf(choices));
    return choice as T;
  };
}

/** A parser of durations such as `30s` or `5min`, in milliseconds. */
export function duration(options: { allowZero: boolean }): (value: string | boolean) => number {
  return function parseDurationValue(value) {
    let ms: number;
    try {
      ms = parseDuration(typeof value === "string" ? value : "");
    } catch {
      throw new Rejected(DURATION_FORMS);
    }
    if (ms === 0 && !options.allowZero) {
      throw new Rejected("a duration above 0, such as 30s, 5min or 1h30m");
    }
    if (ms > MAX_DURATION_MS) throw new Rejected(`a duration of ${MAX_DURATION_TEXT}`);
    return ms;
  };
}

/** Parses the `--burst` period: seconds above 0 that a timer can wait. */
export function burstSeconds(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number <= 0 || !Number.isFinite(number)) {
    throw new Rejected("a number of seconds greater than 0, such as 2 or 0.5");
  }
  if (number * 1000 > MAX_DURATION_MS) {
    throw new Rejected(`a number of seconds ${MAX_DURATION_TEXT}`);
  }
  return number;
}

/** Parses a rate of requests per second whose gap between sends a timer can wait. */
export function qpsValue(value: string | boolean): number {
  const number = positiveNumber(value);
  // The gap between two sends is a timer too.
  if (1000 / number > MAX_DURATION_MS) {
    throw new Rejected("a rate of at least one request per 24 days, such as 0.0000005");
  }
  return number;
}

/**
 * Parses `--trace-window START:END`: durations from the trace's first timestamp (`10s:70s`);
 * either side may be left out for the trace's start or end (`:5min`, `1h:`).
 *
 * @example
 * ```ts
 * traceWindow("10s:70s"); // { startMs: 10000, endMs: 70000 }
 * ```
 */
export function traceWindow(
  value: string | boolean,
): { readonly startMs: number; readonly endMs?: number } {
  const expected = "START:END durations from the trace's start, such as 10s:70s, :5min or 1h:";
  const parts = typeof value === "string" ? value.split(":") : [];
  if (parts.length !== 2 || (parts[0].trim() === "" && parts[1].trim() === "")) {
    throw new Rejected(expected);
  }
  let startMs = 0;
  let endMs: number | undefined;
  try {
    if (parts[0].trim() !== "") startMs = parseDuration(parts[0]);
    if (parts[1].trim() !== "") endMs = parseDuration(parts[1]);
  } catch {
    throw new Rejected(`${expected}; each a duration (${DURATION_FORMS})`);
  }
  if (endMs !== undefined && endMs <= startMs) {
    throw new Rejected(`${expected}, with END after START`);
  }
  return endMs === undefined ? { startMs } : { startMs, endMs };
}

/** Parses the target's base URL: http or https, without query or fragment or a trailing slash. */
export function hostUrl(value: string | boolean): string {
  const trimmed = typeof value === "string" ? value.trim() : "";
  const expected = "an http:// or https:// URL such as http://localhost:8000";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Rejected(expected);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new Rejected(expected);
  }
  if (url.search !== "" || url.hash !== "") throw new Rejected(`${expected}, without ? or #`);
  // Keep the text as typed (new URL would drop an explicit :80); only the trailing slash goes,
  // because request paths are appended as `${host}/v1/...`.
  return trimmed.replace(/\/+$/, "");
}

/**
 * Parses where the server's metrics come from: `auto` (the target's `/metrics` when it answers,
 * also the bare switch), `off` (the `--no-` form), or an http(s) URL.
 */
export function serverMetricsSource(value: string | boolean): string {
  if (value === true) return "auto";
  if (value === false) return "off";
  const trimmed = value.trim();
  const lower = trimmed.toLowerCase();
  if (["auto", "true", "on", "yes"].includes(lower)) return "auto";
  if (["off", "false", "no", "none"].includes(lower)) return "off";
  try {
    const url = new URL(trimmed);
    if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "") {
      return trimmed;
    }
  } catch {
    // Refused below with the accepted forms.
  }
  throw new Rejected(
    "auto, off, or an http:// or https:// URL such as http://localhost:8000/metrics",
  );
}

/** Parses a `name:value` request header; refusals are {@link RejectedSecret}s. */
export function header(value: string | boolean): [string, string] {
  // The raw text is never quoted back: the header may carry a credential.
  const expected = "expected name:value, such as 'X-Request-Source: llmload'";
  const raw = typeof value === "string" ? value : "";
  const colon = raw.indexOf(":");
  if (colon < 0) throw new RejectedSecret("", `no ':' found, ${expected}`);
  const name = raw.slice(0, colon).trim();
  if (name === "") throw new RejectedSecret("", `the name before ':' is empty, ${expected}`);
  if (!HEADER_NAME.test(name)) {
    const chars = [...name];
    const bad = chars.findIndex((char) => !HEADER_NAME.test(char));
    throw new RejectedSecret(
      " name",
      `character ${bad + 1} is ${characterKind(chars[bad].codePointAt(0)!)}; a header name ` +
        "holds only letters, digits and !#$%&'*+-.^_`|~",
    );
  }
  const fieldValue = raw.slice(colon + 1).trim();
  const problem = fieldProblem(fieldValue, { spaces: true });
  if (problem !== undefined) {
    throw new RejectedSecret(
      ` '${name}' value`,
      `${problem}; a header value holds only printable ASCII, spaces and tabs`,
    );
  }
  return [name, fieldValue];
}

/** Parses an API key that can go into `Authorization: Bearer`; refusals are {@link RejectedSecret}s. */
export function apiKeyValue(value: string | boolean): string {
  const key = text(value);
  const problem = fieldProblem(key, { spaces: false });
  if (problem !== undefined) {
    // It goes into `Authorization: Bearer <key>`, where such a character breaks the request.
    throw new RejectedSecret("", `${problem}; an API key holds only printable ASCII, no spaces`);
  }
  return key;
}

/**
 * Why `text` cannot go into an HTTP header (RFC 9110 field value, without obs-text), or
 * `undefined`: the position (from 1) and the kind of the first bad character, never the text.
 */
function fieldProblem(text: string, options: { spaces: boolean }): string | undefined {
  let position = 0;
  for (const char of text) {
    position++;
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e) continue;
    if (options.spaces && (code === 0x20 || code === 0x09)) continue;
    return `character ${position} is ${characterKind(code)}`;
  }
  return undefined;
}

function characterKind(code: number): string {
  if (code === 0x0a || code === 0x0d) return "a line break (CR or LF)";
  if (code === 0) return "a NUL";
  if (code === 0x20) return "a space";
  if (code === 0x09) return "a tab";
  if (code < 0x20 || code === 0x7f) return "a control character";
  if (code > 0x7f) return "not ASCII";
  return `'${String.fromCharCode(code)}'`;
}

/**
 * Parses a PostgreSQL connection URL (`postgres://` or `postgresql://`, with a host); refusals
 * are {@link RejectedSecret}s, since the URL may carry a password.
 */
export function postgresUrl(value: string | boolean): string {
  const trimmed = typeof value === "string" ? value.trim() : "";
  const expected = "expected a URL such as postgresql://user:password@127.0.0.1:5432/llmload";
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (!url || !["postgres:", "postgresql:"].includes(url.protocol) || url.hostname === "") {
    throw new RejectedSecret("", expected);
  }
  return trimmed;
}

/** Parses a TCP port (0 picks a free one). */
export function port(value: string | boolean): number {
  const number = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : -1;
  if (number < 0 || number > 65535) throw new Rejected("a whole number from 0 to 65535");
  return number;
}

/** Parses a fraction from 0 to 1. */
export function ratio(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number > 1) throw new Rejected("a number from 0 to 1, such as 0.05");
  return number;
}

/** Parses `port` or `host:port` (an IPv6 host in brackets); the host defaults to 127.0.0.1. */
export function serveAddress(
  value: string | boolean,
): { readonly hostname: string; readonly port: number } {
  const raw = typeof value === "string" ? value.trim() : "";
  const match = raw.match(/^(?:(\[[0-9a-fA-F:]+\]|[^:\s]+):)?(\d+)$/);
  const number = match ? Number(match[2]) : -1;
  if (!match || number > 65535) {
    throw new Rejected("a port such as 9090, or host:port such as 0.0.0.0:9090");
  }
  return { hostname: match[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1", port: number };
}

/** Parses a fraction from 0 to 1, given as `10%` or `0.1`. */
export function jitter(value: string | boolean): number {
  const raw = typeof value === "string" ? value.trim() : "";
  const percent = raw.endsWith("%");
  const number = decimal(percent ? raw.slice(0, -1) : raw);
  const fraction = number === undefined ? undefined : percent ? number / 100 : number;
  if (fraction === undefined || fraction > 1) {
    throw new Rejected("a percentage such as 10% or a fraction such as 0.1, from 0 to 1");
  }
  return fraction;
}

function listOf(choices: readonly string[]): string {
  if (choices.length === 1) return choices[0];
  return `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
}
