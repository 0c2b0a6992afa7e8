/**
 * A small validating JSON scanner for the providers' fast paths: it walks one payload in place,
 * reads the few fields a metric needs and checks (without building) everything else, so a
 * token event costs no object tree. Whatever it accepts, `JSON.parse` accepts and reads the
 * same way; the fast paths give up (and the full parse runs) on anything unusual: an escaped
 * key, a repeated field that matters, a value of an unexpected type. Private to `providers/`.
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Characters that may follow a backslash in a JSON string (`u` is checked with its digits). */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/** Depth past which {@link JsonScan.skip} gives up rather than recursing further. */
const MAX_DEPTH = 64;

/**
 * A cursor over one JSON text. Each method reads at the cursor and moves it past what it
 * read; one that returns `false` or `undefined` found something it does not read, and the
 * scan is then abandoned.
 *
 * @example
 * ```ts
 * const scan = new JsonScan();
 * scan.reset('{"text":"hi"}');
 * let text: string | undefined;
 * eachMember(scan, () => scan.isKey("text") ? (text = scan.string()) !== undefined : scan.skip());
 * text; // "hi"
 * ```
 */
export class JsonScan {
  /** The text being scanned. */
  text = "";
  /** The cursor. */
  at = 0;
  /** Where the last key read by {@link JsonScan.key} starts and ends (quotes excluded). */
  #keyStart = 0;
  #keyEnd = 0;

  /** Starts on a new text. */
  reset(text: string): void {
    this.text = text;
    this.at = 0;
  }

  /** Skips whitespace; the character code at the cursor, or -1 at the end. */
  peek(): number {
    const text = this.text;
    let at = this.at;
    for (; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
    }
    this.at = at;
    return at < text.length ? text.charCodeAt(at) : -1;
  }

  /** Takes `code` (after whitespace) if it is next. */
  take(code: number): boolean {
    if (this.peek() !== code) return false;
    this.at++;
    return true;
  }

  /** Whether only whitespace is left. */
  done(): boolean {
    return this.peek() === -1;
  }

  /**
   * After `{` or `,`: reads a key without escapes and the colon after it. `false` on anything
   * else, an escaped key included (it may spell a field the caller reads).
   */
  key(): boolean {
    if (!this.take(QUOTE)) return false;
    const text = this.text;
    const start = this.at;
    for (let at = start; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code === QUOTE) {
        this.#keyStart = start;
        this.#keyEnd = at;
        this.at = at + 1;
        return this.take(COLON);
      }
      if (code === BACKSLASH || code < 0x20) return false;
    }
    return false;
  }

  /** Whether the last key read is `name`. */
  isKey(name: string): boolean {
    return this.#keyEnd - this.#keyStart === name.length &&
      this.text.startsWith(name, this.#keyStart);
  }

  /** After a member: `true` for `,` (another follows), `false` for `close`, else `undefined`. */
  next(close: number): boolean | undefined {
    const code = this.peek();
    this.at++;
    return code === COMMA ? true : code === close ? false : undefined;
  }

  /** Reads a string value, escapes decoded; `undefined` if none is next or it is malformed. */
  string(): string | undefined {
    if (this.peek() !== QUOTE) return undefined;
    const start = this.at;
    const end = this.#stringEnd(start);
    if (end === -1) return undefined;
    this.at = end + 1;
    if (!this.#escaped) return this.text.slice(start + 1, end);
    // Rare (quotes, newlines, non-ASCII escaped): the runtime decodes the one string.
    return JSON.parse(this.text.slice(start, end + 1));
  }

  /** Reads `null` (`true`), or leaves the cursor where it was (`false`). */
  null(): boolean {
    return this.#literal("null");
  }

  /** Reads `true` or `false`; `undefined` if neither is next. */
  boolean(): boolean | undefined {
    if (this.#literal("true")) return true;
    if (this.#literal("false")) return false;
    return undefined;
  }

  /** Reads `null` or a string: the string, `null`, or `undefined` for anything else. */
  stringOrNull(): string | null | undefined {
    return this.null() ? null : this.string();
  }

  /**
   * Skips an array, checking every element; its length, or -1 if it is malformed or no array
   * is next.
   */
  arrayLength(): number {
    if (!this.take(LBRACKET)) return -1;
    if (this.take(RBRACKET)) return 0;
    for (let count = 1;; count++) {
      if (!this.skip()) return -1;
      const more = this.next(RBRACKET);
      if (more === undefined) return -1;
      if (!more) return count;
    }
  }

  /** Skips any one JSON value, checking it; `false` if it is malformed. */
  skip(depth = 0): boolean {
    const code = this.peek();
    if (code === QUOTE) {
      const end = this.#stringEnd(this.at);
      this.at = end + 1;
      return end !== -1;
    }
    if (code === LBRACE || code === LBRACKET) {
      if (depth >= MAX_DEPTH) return false;
      const close = code === LBRACE ? RBRACE : RBRACKET;
      this.at++;
      if (this.take(close)) return true;
      for (;;) {
        if (
          code === LBRACE && (this.peek() !== QUOTE || !this.skip(depth + 1) || !this.take(COLON))
        ) {
          return false;
        }
        if (!this.skip(depth + 1)) return false;
        const more = this.next(close);
        if (more === undefined) return false;
        if (!more) return true;
      }
    }
    if (code === MINUS || (code >= ZERO && code <= NINE)) return this.#number();
    return this.null() || this.boolean() !== undefined;
  }

  /** Set by {@link JsonScan.#stringEnd}: the string held an escape. */
  #escaped = false;

  /** The index of the quote that closes the string opening at `start`, or -1 if malformed. */
  #stringEnd(start: number): number {
    const text = this.text;
    this.#escaped = false;
    for (let at = start + 1; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (code === QUOTE) return at;
      if (code < 0x20) return -1;
      if (code !== BACKSLASH) continue;
      this.#escaped = true;
      const escape = text.charCodeAt(++at);
      if (escape === 0x75) {
        for (let digit = 0; digit < 4; digit++) {
          if (!isHex(text.charCodeAt(++at))) return -1;
        }
      } else if (!ESCAPES.has(escape)) return -1;
    }
    return -1;
  }

  /** Skips a number as JSON spells it: `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`. */
  #number(): boolean {
    const text = this.text;
    let at = this.at;
    if (text.charCodeAt(at) === MINUS) at++;
    if (text.charCodeAt(at) === ZERO) at++;
    else if (isDigit(text.charCodeAt(at))) { while (isDigit(text.charCodeAt(at))) at++; }
    else return false;
    if (text.charCodeAt(at) === DOT) {
      if (!isDigit(text.charCodeAt(++at))) return false;
      while (isDigit(text.charCodeAt(at))) at++;
    }
    const e = text.charCodeAt(at);
    if (e === 0x65 || e === 0x45) {
      const sign = text.charCodeAt(++at);
      if (sign === PLUS || sign === MINUS) at++;
      if (!isDigit(text.charCodeAt(at))) return false;
      while (isDigit(text.charCodeAt(at))) at++;
    }
    this.at = at;
    return true;
  }

  #literal(word: string): boolean {
    if (this.peek() !== word.charCodeAt(0) || !this.text.startsWith(word, this.at)) return false;
    this.at += word.length;
    return true;
  }
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

function isHex(code: number): boolean {
  return isDigit(code) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46);
}

/**
 * Walks the members of the object at the cursor, calling `member` after each key (the cursor
 * at its value, {@link JsonScan.isKey} telling which); `member` reads or skips the value and
 * returns `false` to give up. `false` if the object is malformed or `member` gave up.
 */
export function eachMember(scan: JsonScan, member: () => boolean): boolean {
  if (!scan.take(LBRACE)) return false;
  if (scan.take(RBRACE)) return true;
  for (;;) {
    if (!scan.key() || !member()) return false;
    const more = scan.next(RBRACE);
    if (more === undefined) return false;
    if (!more) return true;
  }
}
