// A lean WebSocket client for the dispatch bench's receivers: a real TCP
// socket, the RFC 6455 upgrade and frame format, and nothing else. The bench's
// 1,000 clients receive 100,000 frames a second on the same two cores as the
// server and PostgreSQL; `ws` spends several times the CPU per frame that
// reading a header does (streams, events, buffers per message), and that CPU
// is taken from the system being measured. Server frames are unmasked and
// unfragmented (uWebSockets.js sends each message as one frame); pings are
// answered, a close is answered and ends the socket.
import crypto from 'node:crypto';
import net from 'node:net';

export interface RawClient {
  /** Sends a close frame and resolves once the socket has closed. */
  close(): Promise<void>;
  readonly closed: boolean;
}

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** A client frame: FIN, the opcode, masked with a zero key (allowed, and the payload is left as is). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/**
 * Connects to `url` (ws://host:port/path?query) and calls `onText(frame, at)`
 * for each text frame, with its arrival time (wall-clock ms, taken once per
 * socket read). Resolves once the upgrade is answered with 101.
 */
export function connectRaw(url: string, onText: (frame: Buffer, at: number) => void): Promise<RawClient> {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
  let closed = false;
  let pending: Buffer | undefined;
  let upgraded = false;
  const done = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));

  const frames = (chunk: Buffer, at: number) => {
    const data = pending ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      if (data.length - offset < 2) break;
      const opcode = data[offset]! & 0x0f;
      let length = data[offset + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (data.length - offset < header + length) break;
      const payload = data.subarray(offset + header, offset + header + length);
      offset += header + length;
      if (opcode === OP_TEXT) onText(payload, at);
      else if (opcode === OP_PING) socket.write(clientFrame(0xa, Buffer.from(payload)));
      else if (opcode === OP_CLOSE) {
        socket.end(clientFrame(OP_CLOSE, Buffer.from(payload.subarray(0, 2))));
        return;
      }
    }
    pending = offset < data.length ? Buffer.from(data.subarray(offset)) : undefined;
  };

  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      const at = performance.timeOrigin + performance.now();
      if (upgraded) return frames(chunk, at);
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        return reject(new Error(`upgrade refused: ${head.slice(0, head.indexOf('\r\n'))}`));
      }
      upgraded = true;
      resolve({
        get closed() {
          return closed;
        },
        close() {
          if (!closed) socket.end(clientFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])));
          return done;
        },
      });
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) frames(rest, at);
    };
    socket.on('data', onData);
    // After the upgrade, an error (a reset) just closes the client.
    socket.on('error', (error) => !upgraded && reject(error));
    socket.once('connect', () => {
      socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}
