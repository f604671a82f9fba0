import type { z } from 'zod';
import { AppError } from '../../ops/errors.js';

/** Validates a query string with a zod schema; the first problem becomes a 400 naming its field. */
export function parseQuery<S extends z.ZodTypeAny>(schema: S, query: Record<string, string>): z.infer<S> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || 'query';
  throw new AppError(400, 'bad_request', `${field}: ${issue.message}`, { field });
}

/** A ReadableStream that asks the generator for the next chunk only when the client has taken the last one. */
export function pullStream(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(encoder.encode(value));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
