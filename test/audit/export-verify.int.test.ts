import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { appendMixedLedger, runledger } from './cli.js';

describe('export bundles and offline verification', () => {
  let db: TestDatabase;
  let dir: string;
  let bundle: string;
  let lines: string[];
  let dbHead: string;
  let count: number;
  before(async () => {
    db = await createTestDatabase(4);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runledger-audit-'));
    await appendMixedLedger(db.pool);
    const exported = await runledger(db.url, ['export']);
    assert.equal(exported.code, 0, exported.stderr);
    bundle = path.join(dir, 'ledger.ndjson');
    fs.writeFileSync(bundle, exported.stdout);
    lines = exported.stdout.split('\n').filter((line) => line !== '');
    const verified = await runledger(db.url, ['verify']);
    assert.equal(verified.code, 0, verified.stdout);
    const [, total, head] = verified.stdout.trim().split(' ');
    count = Number(total);
    dbHead = head!;
  });
  after(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const verifyLines = async (name: string, content: string[], extra: string[] = []) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content.map((line) => line + '\n').join(''));
    // No database at all: DATABASE_URL unset would start an embedded one, so point it nowhere.
    return runledger('postgres://nobody@127.0.0.1:1/none', ['verify', '--file', file, ...extra]);
  };

  it('an untouched export verifies with no database, with the same count and head as verify against the database', async () => {
    assert.equal(lines.length, count + 1, 'a header and one line per event');
    const header = JSON.parse(lines[0]!);
    assert.deepEqual([header.from, header.to, header.anchor.position], [1, count, 0]);
    const result = await verifyLines('same.ndjson', lines, ['--expect-head', dbHead]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout.trim(), `ok ${count} ${dbHead}`);
  });

  it('a bundle rewritten by another JSON tool (other spacing, key order, escapes, number forms) still verifies: the values are hashed, not the layout', async () => {
    const rewritten = lines.map((line, index) => {
      if (index === 0) return line;
      // Re-serialise metadata and data with JSON.stringify (no spaces, keys as given) and escape every non-ASCII character.
      const start = line.indexOf('"metadata":');
      const end = line.indexOf(',"prev_hash":');
      const members = JSON.parse(`{${line.slice(start, end)}}`) as { metadata: unknown; data: unknown };
      if (/[.eE]\d/.test(line.slice(start, end))) return line; // JSON.parse would round decimals: keep those lines as they are
      const ascii = (value: unknown) => JSON.stringify(value).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return `${line.slice(0, start)}"data":${ascii(members.data)}, "metadata" : ${ascii(members.metadata)}${line.slice(end)}`;
    });
    const changed = rewritten.filter((line, index) => line !== lines[index]).length;
    assert.ok(changed > 100, `${changed} lines rewritten`);
    const result = await verifyLines('rewritten.ndjson', rewritten, ['--expect-head', dbHead]);
    assert.equal(result.stdout.trim(), `ok ${count} ${dbHead}`);
  });

  it('one changed byte in an event is reported with its position', async () => {
    // Position 650 is a tricky-bodied event; change a letter inside its data.
    for (const position of [3, 650]) {
      const tampered = [...lines];
      const line = tampered[position]!;
      const at = line.indexOf('"data":') + 12;
      const byte = line[at] === 'x' ? 'y' : 'x';
      tampered[position] = line.slice(0, at) + byte + line.slice(at + 1);
      // Only count it if the byte still parses as JSON; otherwise the line is reported as invalid, also at its position.
      const result = await verifyLines(`byte-${position}.ndjson`, tampered);
      assert.equal(result.code, 1);
      assert.match(result.stdout, new RegExp(`^bad ${position} `), result.stdout);
    }
    // A changed digit of the recorded time.
    const tampered = [...lines];
    tampered[10] = tampered[10]!.replace(/"recorded_at":"(\d{4})/, (_, year: string) => `"recorded_at":"${Number(year) + 1}`);
    const result = await verifyLines('time.ndjson', tampered);
    assert.match(result.stdout, /^bad 10 content does not match its hash/);
  });

  it('a removed, duplicated, swapped or inserted line is reported with the right position', async () => {
    const removed = [...lines];
    removed.splice(100, 1);
    assert.match((await verifyLines('removed.ndjson', removed)).stdout, /^bad 100 event missing: expected position 100, found 101/);

    const duplicated = [...lines];
    duplicated.splice(200, 0, lines[200]!);
    assert.match((await verifyLines('duplicated.ndjson', duplicated)).stdout, /^bad 201 event repeated or out of order: expected position 201, found 200/);

    const swapped = [...lines];
    [swapped[300], swapped[301]] = [swapped[301]!, swapped[300]!];
    assert.match((await verifyLines('swapped.ndjson', swapped)).stdout, /^bad 300 event missing: expected position 300, found 301/);

    // An inserted event that claims the next position and the right prev_hash still fails its own hash.
    const inserted = [...lines];
    const forged = JSON.parse(lines[400]!);
    forged.data = { forged: true };
    inserted[400] = JSON.stringify(forged);
    assert.match((await verifyLines('forged.ndjson', inserted)).stdout, /^bad 400 content does not match its hash/);
  });

  it('a truncated tail is caught by the header, and by --expect-head even when the header is edited', async () => {
    // The last block is the last 20 tricky events (appended 20 at a time): cut it off whole.
    const truncated = lines.slice(0, -20);
    const result = await verifyLines('truncated.ndjson', truncated);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`bundle truncated: the header says it ends at ${count}, the last event is ${count - 20}`));

    const header = JSON.parse(truncated[0]!);
    header.to = count - 20;
    truncated[0] = JSON.stringify(header);
    assert.equal((await verifyLines('truncated-edited.ndjson', truncated)).code, 0, 'without the expected head a shorter valid chain passes');
    const caught = await verifyLines('truncated-edited.ndjson', truncated, ['--expect-head', dbHead]);
    assert.equal(caught.code, 1);
    assert.match(caught.stdout, new RegExp(`^bad ${count - 19} head hash [0-9a-f]{64} at ${count - 20} is not the expected ${dbHead}`));

    // Cut inside a block, header edited to match: the block cannot be sealed.
    const inside = lines.slice(0, -5);
    inside[0] = JSON.stringify({ ...JSON.parse(inside[0]!), to: count - 5 });
    const early = await verifyLines('inside.ndjson', inside);
    assert.equal(early.code, 1);
    assert.match(early.stdout, new RegExp(`^bad ${count - 4} block ${count - 19}\\.\\.${count} ends early`));
  });

  it('a changed seal (a block\'s time or hash on its first event) is reported at the block\'s first position; a changed field inside at its event', async () => {
    const first = JSON.parse(lines[601]!);
    assert.deepEqual([first.block_first, first.block_last, first.hash_scheme], [601, 620, 2]);
    const sealed = [...lines];
    sealed[601] = sealed[601]!.replace(/"recorded_at":"(\d{4})/, (_, year: string) => `"recorded_at":"${Number(year) + 1}`);
    const changedFirst = await verifyLines('seal-first.ndjson', sealed);
    assert.match(changedFirst.stdout, /^bad 602 content does not match its hash \(its block fields differ/, 'the next event disagrees with the changed first one');
    const digest = [...lines];
    digest[610] = digest[610]!.replace(/"digest":"(.)/, (_, c: string) => `"digest":"${c === 'a' ? 'b' : 'a'}`);
    assert.match((await verifyLines('digest.ndjson', digest)).stdout, /^bad 610 content does not match its hash \(the event was altered\)/);
  });

  it('export --from N --to M carries the anchor before N and verifies on its own; verify --from N checks the rest in the database', async () => {
    const part = await runledger(db.url, ['export', '--from', '301', '--to', '500']);
    assert.equal(part.code, 0, part.stderr);
    const partLines = part.stdout.split('\n').filter((line) => line !== '');
    assert.equal(partLines.length, 201);
    assert.deepEqual(JSON.parse(partLines[0]!).anchor, { position: 300, hash: JSON.parse(lines[300]!).hash });
    const result = await verifyLines('part.ndjson', partLines, ['--expect-head', JSON.parse(lines[500]!).hash]);
    assert.equal(result.stdout.trim(), `ok 200 ${JSON.parse(lines[500]!).hash}`);

    const incremental = await runledger(db.url, ['verify', '--from', '500']);
    assert.equal(incremental.stdout.trim(), `ok ${count - 500} ${dbHead}`);

    for (const [args, message] of [
      [['export', '--from', '0'], /--from must be a whole number >= 1/],
      [['export', '--to', String(count + 1)], /--to: \d+ is beyond the ledger head/],
      [['verify', '--from', 'x'], /--from must be a whole number >= 0/],
      [['verify', '--expect-head', 'abc'], /--expect-head must be 64 hex digits/],
    ] as const) {
      const bad = await runledger(db.url, [...args]);
      assert.equal(bad.code, 2, args.join(' '));
      assert.match(bad.stderr, message);
    }
  });
});
