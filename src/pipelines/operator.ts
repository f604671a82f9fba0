import type { TypedNewEvent } from '../events/catalogue.js';

/**
 * Who asked for an operator action and why: recorded in the metadata of the
 * events the action appends, so the stream and the audit trail show it.
 */
export interface OperatorOptions {
  /** The token's name, or a process name for actions taken by code. */
  readonly actor?: string;
  readonly reason?: string;
  /** The HTTP request that asked for it. */
  readonly requestId?: string;
}

export function operatorMetadata(options: OperatorOptions): TypedNewEvent['metadata'] {
  const metadata = {
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
  };
  return Object.keys(metadata).length === 0 ? undefined : metadata;
}
