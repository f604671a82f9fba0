/** WebSocket close codes (4000–4999 are for applications). Reasons are `<word> [from=<offset>]`. */
export const CloseCode = {
  /** Malformed connection parameters (`from`, filters); the reason names the field. */
  badRequest: 4400,
  /** Token missing or wrong. */
  unauthorized: 4401,
  /** More connections from this address than the server allows. */
  tooManyConnections: 4429,
  /** The server is shutting down; reconnect (to another process) with `from=<offset>`. */
  shuttingDown: 4503,
  /** The client did not read fast enough; reconnect with `from=<offset>`. */
  slowConsumer: 4509,
} as const;
