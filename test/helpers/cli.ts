import { run } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/context.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured, colourless output. */
export async function runCli(argv: readonly string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { out: (t) => out.push(t), err: (t) => err.push(t), style: { color: false } };
  const code = await run(argv, ctx);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
