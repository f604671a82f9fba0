import type { Command } from './command.js';
import { exportCommand } from './export.js';
import { keygenCommand } from './keygen.js';
import { migrateCommand } from './migrate.js';
import { rebuildCommand } from './rebuild.js';
import { serveCommand } from './serve.js';
import { startCommand } from './start.js';
import { tailCommand } from './tail.js';
import { verifyCommand } from './verify.js';
import { workCommand } from './work.js';

export const commands: Record<string, Command> = {
  start: startCommand,
  serve: serveCommand,
  migrate: migrateCommand,
  verify: verifyCommand,
  tail: tailCommand,
  rebuild: rebuildCommand,
  work: workCommand,
  export: exportCommand,
  keygen: keygenCommand,
};
