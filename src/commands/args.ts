/** `--name value` options of a command line, with the errors naming the option. */
export class Args {
  constructor(private readonly args: readonly string[]) {}

  has(name: string): boolean {
    return this.args.includes(name);
  }

  string(name: string): string | undefined {
    const index = this.args.indexOf(name);
    if (index < 0) return undefined;
    const value = this.args[index + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return value;
  }

  /** A whole number >= min. */
  integer(name: string, min = 0): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`${name} must be a whole number >= ${min}, got ${JSON.stringify(raw)}`);
    }
    return value;
  }
}

/** A bad command line: the command prints the message and exits 2. */
export class UsageError extends Error {}
