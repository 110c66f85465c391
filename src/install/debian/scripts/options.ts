/** Command-line options of the tools maintainer scripts call, parsed the getopt way. */
import { UNKNOWN, type Value } from '../shell/value.js';

export interface ParsedArgs {
  /** Options seen, by their long name when the spec gives one ("-p" may be stored as "preserve"). */
  readonly flags: Map<string, Value>;
  readonly operands: Value[];
  /** An option the spec does not know, or an unknown word where an option could be. */
  readonly unknown: string[];
}

export interface OptionSpec {
  /** Short letters taking no value, e.g. "pfrR". */
  readonly short?: string;
  /** Short letters taking a value, e.g. "m". */
  readonly shortValue?: string;
  /** Long options without a value. */
  readonly long?: readonly string[];
  /** Long options with a value ("--home DIR" or "--home=DIR"). */
  readonly longValue?: readonly string[];
  /** Short letter → long name, so both spellings land on one key. */
  readonly aliases?: Readonly<Record<string, string>>;
}

export function parseArgs(args: readonly Value[], spec: OptionSpec): ParsedArgs {
  const flags = new Map<string, Value>();
  const operands: Value[] = [];
  const unknown: string[] = [];
  const name = (k: string) => spec.aliases?.[k] ?? k;
  let i = 0;
  let only = false;
  while (i < args.length) {
    const a = args[i++];
    if (a === undefined) break;
    if (only || a === UNKNOWN || a === '-' || !a.startsWith('-')) {
      operands.push(a);
      continue;
    }
    if (a === '--') {
      only = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (spec.longValue?.includes(key)) flags.set(name(key), eq < 0 ? (args[i++] ?? UNKNOWN) : a.slice(eq + 1));
      else if (spec.long?.includes(key)) flags.set(name(key), '');
      else unknown.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const ch = a[j] ?? '';
      if (spec.shortValue?.includes(ch)) {
        const rest = a.slice(j + 1);
        flags.set(name(ch), rest !== '' ? rest : (args[i++] ?? UNKNOWN));
        break;
      }
      if (spec.short?.includes(ch)) flags.set(name(ch), '');
      else unknown.push(`-${ch}`);
    }
  }
  return { flags, operands, unknown };
}
