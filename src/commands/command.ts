import type { Config } from '../ops/config.js';
import type { Logger } from '../ops/logger.js';

export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
}

export interface Command {
  readonly summary: string;
  /** Its options, one per line (`--from N   …`), for `runledger <command> --help`. (Default: none) */
  readonly options?: readonly string[];
  /** Resolves with the process exit code. */
  run(args: string[], context: CommandContext): Promise<number>;
}
