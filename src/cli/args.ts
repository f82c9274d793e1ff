// A tiny argument parser for the CLI: positionals, `--flag`, `--key value` and `--key=value`.
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Args {
  positional: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], valued: ReadonlySet<string>): Args {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq > 0 ? eq : undefined);
    if (eq > 0) options.set(key, a.slice(eq + 1));
    else if (valued.has(key)) {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${key} needs a value`);
      options.set(key, v);
    } else options.set(key, true);
  }
  return { positional, options };
}

export function numberOption(args: Args, key: string, fallback: number): number {
  const v = args.options.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got ${v === true ? 'nothing' : `"${v}"`}`);
  return n;
}
