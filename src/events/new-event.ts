import type { NewEvent } from '../ledger/types.js';
import type { EventData, EventType, TypedNewEvent } from './catalogue.js';

type Meta = TypedNewEvent['metadata'];

export const jobEvent = <T extends EventType>(type: T, data: EventData[T] & { jobId: string }, metadata?: Meta): NewEvent =>
  typed({ streamType: 'job', streamId: data.jobId, type, data, metadata });

export const workerEvent = <T extends EventType>(type: T, data: EventData[T] & { workerId: string }): NewEvent =>
  typed({ streamType: 'worker', streamId: data.workerId, type, data });

export const queueEvent = <T extends 'queue.paused' | 'queue.resumed' | 'queue.throttled'>(type: T, data: EventData[T], metadata?: Meta): NewEvent =>
  typed({ streamType: 'queue', streamId: data.queue ?? data.pipeline ?? '*', type, data, metadata });

export const alertEvent = <T extends 'alert.raised' | 'alert.cleared'>(type: T, data: EventData[T]): NewEvent =>
  typed({ streamType: 'alert', streamId: data.alertId, type, data });

function typed<T extends EventType>(event: TypedNewEvent<T>): NewEvent {
  return event.metadata === undefined ? { streamType: event.streamType, streamId: event.streamId, type: event.type, data: event.data } : event;
}

/** Size of a value as JSON, in bytes (the "input/output size" of events). */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value ?? null));
