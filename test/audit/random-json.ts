// Random JSON texts for the jsonb rendering parity test: written as text, not
// with JSON.stringify, so number literals, escapes and key orders vary the way
// hand-written or foreign JSON does.

export function randomJsonText(random: () => number, depth = 0): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kind = depth >= 6 ? pick(['string', 'number', 'literal'] as const) : pick(['object', 'object', 'array', 'string', 'number', 'literal'] as const);
  switch (kind) {
    case 'object': {
      const count = Math.floor(random() * 6);
      const members: string[] = [];
      for (let index = 0; index < count; index += 1) {
        // Repeated keys: jsonb keeps the last.
        const key = random() < 0.1 && members.length > 0 ? randomKey(random, pick) : randomKey(random, pick);
        members.push(`${space(random)}${randomStringText(key, random)}${space(random)}:${space(random)}${randomJsonText(random, depth + 1)}`);
      }
      if (count > 0 && random() < 0.15) members.push(`${randomStringText(keyOf(members[0]!), random)}: ${randomJsonText(random, depth + 1)}`);
      return `{${members.join(',')}${space(random)}}`;
    }
    case 'array': {
      const count = Math.floor(random() * 5);
      const items: string[] = [];
      for (let index = 0; index < count; index += 1) items.push(space(random) + randomJsonText(random, depth + 1) + space(random));
      return `[${items.join(',')}]`;
    }
    case 'string':
      return randomStringText(randomString(random, pick), random);
    case 'number':
      return randomNumber(random, pick);
    default:
      return pick(['true', 'false', 'null']);
  }
}

function keyOf(member: string): string {
  return JSON.parse(member.trimStart().match(/^"(?:[^"\\]|\\.)*"/)![0]) as string;
}

function space(random: () => number): string {
  return random() < 0.2 ? ' \n\t\r'.slice(0, 1 + Math.floor(random() * 4)) : '';
}

const KEYS = ['a', 'b', 'aa', 'B', 'Z', 'id', 'jobId', 'é', 'ü1', '日本', '😀', 'a b', '', 'x"y', 'back\\slash', 'ß', 'zz', 'Ab', 'aB', '\u007f'];

function randomKey(random: () => number, pick: <T>(items: readonly T[]) => T): string {
  return random() < 0.7 ? pick(KEYS) : randomString(random, pick);
}

const PIECES = [
  'hello', ' ', 'é', 'ñ', '日本語', '😀', '🏳️‍🌈', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0001', '\u001f', '\u007f',
  '\u0080', '\u2028', '\u2029', '\uffff', '\ud7ff', '\ue000', '<script>', "'", '\u00a0', 'x', '0', '{}', '[]',
];

function randomString(random: () => number, pick: <T>(items: readonly T[]) => T): string {
  let out = '';
  const count = Math.floor(random() * 6);
  for (let index = 0; index < count; index += 1) out += pick(PIECES);
  return out;
}

/** A JSON string literal for `value`, escaping characters in one of several legal ways. */
function randomStringText(value: string, random: () => number): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    const roll = random();
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (code < 0x20) out += roll < 0.5 ? `\\u${code.toString(16).padStart(4, roll < 0.25 ? '0' : '0').toUpperCase()}` : JSON.stringify(char).slice(1, -1);
    else if (char === '/' && roll < 0.5) out += '\\/';
    else if (code > 0xffff && roll < 0.5) {
      const high = Math.floor((code - 0x10000) / 0x400) + 0xd800;
      const low = ((code - 0x10000) % 0x400) + 0xdc00;
      out += `\\u${high.toString(16)}\\u${low.toString(16).toUpperCase()}`;
    } else if (code >= 0x80 && code <= 0xffff && roll < 0.3) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out + '"';
}

const NUMBERS = [
  '0', '-0', '0.0', '-0.0', '1', '-1', '1.5', '1.50', '1.500000', '10', '100e-2', '1e2', '1E2', '1e+2', '1.5e1', '1.50e1', '1e-2',
  '5e-324', '-5e-324', '4.9406564584124654e-324', '2.2250738585072014e-308', '1.7976931348623157e308', '-1.7976931348623157e308',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '18446744073709551616',
  '123456789012345678901234567890.123456789012345678901234567890', '0.1', '0.30000000000000004', '1e-7', '1.0e-7',
  '0.000001', '12345.6789e-3', '1e1000', '1e-1000', '-0e5', '0e-5', '3.14159', '2.5E-3', '-2.5e+3',
];

function randomNumber(random: () => number, pick: <T>(items: readonly T[]) => T): string {
  if (random() < 0.6) return pick(NUMBERS);
  // A random double, as JavaScript writes it (exponents included).
  const value = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
  return String(random() < 0.3 ? Math.round(value) : value);
}

/** A seeded generator (mulberry32), so a failure can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
