import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvents } from '../../src/ledger/validate.js';
import type { NewEvent } from '../../src/ledger/types.js';
import { AppError } from '../../src/ops/errors.js';

const valid: NewEvent = { streamType: 'job', streamId: 'j1', type: 'job.created', data: { a: 1 } };
const check = (event: unknown) => validateEvents([event as NewEvent], 1024);
const refusedAt = (field: string) => (error: unknown) => error instanceof AppError && error.field === field;

// validateEvents takes a fast path for plain events and asks zod otherwise:
// both must give the same verdict.
describe('validateEvents', () => {
  it('accepts plain events, with or without metadata, and objects without a prototype', () => {
    assert.equal(check(valid), '[{"stream_type":"job","stream_id":"j1","type":"job.created","data":{"a":1},"metadata":{}}]');
    assert.doesNotThrow(() => check({ ...valid, metadata: { actor: 'x' } }));
    assert.doesNotThrow(() => check({ ...valid, metadata: undefined }));
    assert.doesNotThrow(() => check({ ...valid, data: Object.assign(Object.create(null), { a: 1 }) }));
    class Payload {
      a = 1;
    }
    assert.doesNotThrow(() => check({ ...valid, data: new Payload() }));
  });

  it('refuses what zod refuses, naming the field', () => {
    assert.throws(() => check({ ...valid, data: [1] }), refusedAt('events[0].data'));
    assert.throws(() => check({ ...valid, data: null }), refusedAt('events[0].data'));
    assert.throws(() => check({ ...valid, data: new Date() }), refusedAt('events[0].data'));
    assert.throws(() => check({ ...valid, metadata: null }), refusedAt('events[0].metadata'));
    assert.throws(() => check({ ...valid, extra: 1 }), refusedAt('events[0]'));
    assert.throws(() => check({ ...valid, streamType: 'Job' }), refusedAt('events[0].streamType'));
    assert.throws(() => check({ ...valid, streamId: '' }), refusedAt('events[0].streamId'));
    assert.throws(() => check({ ...valid, streamId: 'x'.repeat(201) }), refusedAt('events[0].streamId'));
    assert.throws(() => check({ ...valid, type: 'created' }), refusedAt('events[0].type'));
    assert.throws(() => check({ ...valid, type: undefined }), refusedAt('events[0].type'));
    assert.throws(() => check({ ...valid, data: { big: 'x'.repeat(2000) } }), refusedAt('events[0]'));
  });
});
