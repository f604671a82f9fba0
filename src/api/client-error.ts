import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../ops/errors.js';
import { problemOf } from './problem.js';

/** Node's parser errors, as the problem the app would have answered. */
function errorFor(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError(431, 'headers_too_large', 'headers: larger than the server accepts (16 KiB); send fewer or shorter headers', { field: 'headers' });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError(408, 'request_timeout', 'request: not received in time');
    default:
      return new AppError(400, 'bad_request', 'request: not valid HTTP/1.1');
  }
}

/**
 * The HTTP server's `clientError` listener: requests refused before the app
 * sees them (oversized headers, malformed requests) get the same problem
 * document as every other error, instead of Node's bare status line.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = problemOf(errorFor(error.code));
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
      'content-type: application/problem+json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
