/**
 * PostgreSQL's `jsonb::text` rendering, reimplemented in plain Node so a
 * ledger export can be verified without a database (src/audit/verify-file.ts).
 *
 * What jsonb does to a JSON document, and this module does too:
 * - object keys are de-duplicated (the last value wins) and sorted by their
 *   length in UTF-8 bytes, then bytewise;
 * - numbers are `numeric`: rendered without an exponent, with as many
 *   fraction digits as the literal's display scale (`1.50` stays `1.50`,
 *   `1e2` becomes `100`, `5e-3` becomes `0.005`, `-0` becomes `0`);
 * - strings are de-escaped on input and re-escaped on output with `\"`, `\\`,
 *   `\b \f \n \r \t`, `\u00xx` (lower-case hex) for other control characters,
 *   and every other character as raw UTF-8 (`/` and non-ASCII unescaped);
 * - separators are `", "` and `": "`.
 *
 * Numbers must keep their literal text, which `JSON.parse` loses, so the
 * parser here is our own: `parseJson` returns plain arrays, strings,
 * booleans and null, `JsonNumber` for numbers and `JsonObject` for objects.
 */

export class JsonNumber {
  constructor(readonly literal: string) {}
}

export class JsonObject {
  constructor(readonly entries: Map<string, JsonValue>) {}
  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }
}

export type JsonValue = string | boolean | null | JsonNumber | JsonObject | JsonValue[];

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at character ${offset}`);
  }
}

/** Parses one JSON text (RFC 8259), keeping number literals. Throws JsonSyntaxError. */
export function parseJson(text: string): JsonValue {
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.at < text.length) throw new JsonSyntaxError('unexpected text after the JSON value', parser.at);
  return value;
}

/** PostgreSQL's `jsonb::text` of a parsed value (or of a top-level array of values, as `jsonb_build_array` makes). */
export function jsonbText(value: JsonValue): string {
  if (typeof value === 'string') return quote(value);
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof JsonNumber) return numericText(value.literal);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) out += ', ';
      out += jsonbText(value[index]!);
    }
    return out + ']';
  }
  const keys = sortedKeys(value.entries);
  if (keys.length === 0) return '{}';
  let out = '{';
  for (let index = 0; index < keys.length; index += 1) {
    if (index > 0) out += ', ';
    out += quote(keys[index]!) + ': ' + jsonbText(value.entries.get(keys[index]!)!);
  }
  return out + '}';
}

const ASCII = /^[\x00-\x7f]*$/;

/** jsonb key order: shorter UTF-8 byte length first, then bytewise. */
function sortedKeys(entries: Map<string, JsonValue>): string[] {
  const keys = [...entries.keys()];
  if (keys.length < 2) return keys;
  if (keys.every((key) => ASCII.test(key))) {
    // For ASCII, UTF-16 code units compare like bytes.
    return keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  }
  const bytes = new Map(keys.map((key) => [key, Buffer.from(key, 'utf8')]));
  return keys.sort((a, b) => {
    const x = bytes.get(a)!;
    const y = bytes.get(b)!;
    return x.length - y.length || Buffer.compare(x, y);
  });
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f]/;

/** A string as jsonb renders it. */
export function quoteJsonb(text: string): string {
  return quote(text);
}

function quote(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code >= 0x20) out += text[index];
    else if (code === 0x08) out += '\\b';
    else if (code === 0x0c) out += '\\f';
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out + '"';
}

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const SIMPLE_INTEGER = /^-?(?:0|[1-9]\d*)$/;

/** `numeric_out(numeric_in(literal))` for a JSON number literal. */
export function numericText(literal: string): string {
  if (SIMPLE_INTEGER.test(literal)) return literal === '-0' ? '0' : literal;
  const match = NUMBER.exec(literal);
  if (!match) throw new Error(`not a JSON number: ${literal}`);
  const [, sign, whole = '', fraction = '', exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  // numeric_in refuses exponents beyond NUMERIC_MAX_PRECISION; so does jsonb.
  if (!Number.isInteger(exponent) || Math.abs(exponent) > 1000) throw new Error(`number out of numeric's range: ${literal}`);
  const digits = whole + fraction;
  const scale = Math.max(0, fraction.length - exponent);
  // The decimal point sits after `point` digits of `digits`.
  const point = whole.length + exponent;
  let integerPart: string;
  let fractionPart: string;
  if (point <= 0) {
    integerPart = '0';
    fractionPart = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    integerPart = digits + '0'.repeat(point - digits.length);
    fractionPart = '';
  } else {
    integerPart = digits.slice(0, point);
    fractionPart = digits.slice(point);
  }
  fractionPart = fractionPart.length >= scale ? fractionPart.slice(0, scale) : fractionPart + '0'.repeat(scale - fractionPart.length);
  integerPart = integerPart.replace(/^0+(?=\d)/, '');
  const zero = /^0*$/.test(integerPart + fractionPart);
  const text = scale > 0 ? `${integerPart}.${fractionPart}` : integerPart;
  return sign === '-' && !zero ? `-${text}` : text;
}

class Parser {
  at = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    const text = this.text;
    let at = this.at;
    for (;;) {
      const code = text.charCodeAt(at);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) at += 1;
      else break;
    }
    this.at = at;
  }

  value(depth: number): JsonValue {
    if (depth > 10_000) throw new JsonSyntaxError('nesting too deep', this.at);
    const code = this.text.charCodeAt(this.at);
    if (code === 0x7b) return this.object(depth);
    if (code === 0x5b) return this.array(depth);
    if (code === 0x22) return this.string();
    if (code === 0x2d || (code >= 0x30 && code <= 0x39)) return this.number();
    if (this.text.startsWith('true', this.at)) {
      this.at += 4;
      return true;
    }
    if (this.text.startsWith('false', this.at)) {
      this.at += 5;
      return false;
    }
    if (this.text.startsWith('null', this.at)) {
      this.at += 4;
      return null;
    }
    throw new JsonSyntaxError(Number.isNaN(code) ? 'unexpected end of text' : 'unexpected character', this.at);
  }

  object(depth: number): JsonObject {
    this.at += 1;
    const entries = new Map<string, JsonValue>();
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === 0x7d) {
      this.at += 1;
      return new JsonObject(entries);
    }
    for (;;) {
      if (this.text.charCodeAt(this.at) !== 0x22) throw new JsonSyntaxError('expected a key', this.at);
      const key = this.string();
      this.skipSpace();
      if (this.text.charCodeAt(this.at) !== 0x3a) throw new JsonSyntaxError('expected ":"', this.at);
      this.at += 1;
      this.skipSpace();
      // Map.set keeps the last value of a repeated key, as jsonb does.
      entries.set(key, this.value(depth + 1));
      this.skipSpace();
      const code = this.text.charCodeAt(this.at);
      this.at += 1;
      if (code === 0x7d) return new JsonObject(entries);
      if (code !== 0x2c) throw new JsonSyntaxError('expected "," or "}"', this.at - 1);
      this.skipSpace();
    }
  }

  array(depth: number): JsonValue[] {
    this.at += 1;
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === 0x5d) {
      this.at += 1;
      return items;
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipSpace();
      const code = this.text.charCodeAt(this.at);
      this.at += 1;
      if (code === 0x5d) return items;
      if (code !== 0x2c) throw new JsonSyntaxError('expected "," or "]"', this.at - 1);
      this.skipSpace();
    }
  }

  string(): string {
    const text = this.text;
    const start = this.at + 1;
    let at = start;
    // Fast path: no escapes.
    for (;;) {
      const code = text.charCodeAt(at);
      if (code === 0x22) {
        this.at = at + 1;
        return text.slice(start, at);
      }
      if (code === 0x5c) break;
      if (code < 0x20 || Number.isNaN(code)) throw new JsonSyntaxError('unterminated string or raw control character', at);
      at += 1;
    }
    let out = text.slice(start, at);
    for (;;) {
      const code = text.charCodeAt(at);
      if (code === 0x22) {
        this.at = at + 1;
        return out;
      }
      if (code < 0x20 || Number.isNaN(code)) throw new JsonSyntaxError('unterminated string or raw control character', at);
      if (code !== 0x5c) {
        out += text[at];
        at += 1;
        continue;
      }
      const escape = text[at + 1];
      at += 2;
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(at, at + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('bad \\u escape', at);
          const unit = parseInt(hex, 16);
          // jsonb refuses NUL and unpaired surrogates; a verifier must not accept what PostgreSQL could not have stored.
          if (unit === 0) throw new JsonSyntaxError('\\u0000 cannot be stored in jsonb', at);
          if (unit >= 0xdc00 && unit <= 0xdfff) throw new JsonSyntaxError('unpaired low surrogate', at);
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low = text.slice(at + 4, at + 10);
            const lowUnit = /^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(low) ? parseInt(low.slice(2), 16) : -1;
            if (lowUnit < 0) throw new JsonSyntaxError('unpaired high surrogate', at);
            out += String.fromCharCode(unit, lowUnit);
            at += 10;
          } else {
            out += String.fromCharCode(unit);
            at += 4;
          }
          break;
        }
        default:
          throw new JsonSyntaxError('bad escape', at - 1);
      }
    }
  }

  number(): JsonNumber {
    const text = this.text;
    const start = this.at;
    let at = start;
    if (text.charCodeAt(at) === 0x2d) at += 1;
    const digits = (): number => {
      const from = at;
      while (text.charCodeAt(at) >= 0x30 && text.charCodeAt(at) <= 0x39) at += 1;
      return at - from;
    };
    const whole = at;
    const wholeDigits = digits();
    if (wholeDigits === 0 || (wholeDigits > 1 && text.charCodeAt(whole) === 0x30)) throw new JsonSyntaxError('bad number', start);
    if (text.charCodeAt(at) === 0x2e) {
      at += 1;
      if (digits() === 0) throw new JsonSyntaxError('bad number', start);
    }
    const e = text.charCodeAt(at);
    if (e === 0x65 || e === 0x45) {
      at += 1;
      const sign = text.charCodeAt(at);
      if (sign === 0x2b || sign === 0x2d) at += 1;
      if (digits() === 0) throw new JsonSyntaxError('bad number', start);
    }
    this.at = at;
    return new JsonNumber(text.slice(start, at));
  }
}
