export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/**
 * Reads a `text/event-stream` body with fetch, which (unlike EventSource)
 * works in Node and the browser alike and can send an Authorization header.
 * Resolves when the stream ends; rejects on network errors and non-2xx.
 */
export async function readSse(
  fetchImpl: typeof fetch,
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
  onEvent: (event: SseEvent) => void,
): Promise<void> {
  const response = await fetchImpl(url, { headers: { accept: 'text/event-stream', ...init.headers }, signal: init.signal });
  if (!response.ok || !response.body) {
    const body = await response.text().catch(() => '');
    throw Object.assign(new Error(`SSE request refused: HTTP ${response.status} ${body}`.trim()), { status: response.status });
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event = value;
        else if (name === 'data') data.push(value);
        else if (name === 'id') id = value;
      }
      if (data.length > 0) onEvent({ event, data: data.join('\n'), id });
    }
  }
}
