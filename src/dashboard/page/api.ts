// The page's HTTP calls: same origin, the token (when the server needs one)
// from session storage as a bearer header, RFC 7807 problems as errors.
const TOKEN_KEY = 'runledger.token';

export function authToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function setAuthToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = authToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    throw new ApiError(response.status, String(body.detail ?? body.title ?? response.statusText), body.field as string | undefined);
  }
  return body;
}

/** Whether the server said it requires a token (a meta tag it writes into the page). */
export function tokenRequired(): boolean {
  return document.querySelector('meta[name="runledger-token-required"]')?.getAttribute('content') === '1';
}

export function streamUrls(): { ws: string; sse: string } {
  const params = new URLSearchParams(location.search);
  const port = document.querySelector('meta[name="runledger-ws-port"]')?.getAttribute('content') || '3001';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return {
    // ?ws= overrides where the stream is (a proxy in front of the stream server, say).
    ws: params.get('ws') ?? `${scheme}://${location.hostname}:${port}/ws`,
    sse: `${location.origin}/api/stream`,
  };
}
