import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { BootforgeError, isBootforgeError } from '../errors/index.js';
import { registerBuild } from './commands/build.js';
import { registerBundle } from './commands/bundle.js';
import { registerExplain } from './commands/explain.js';
import { registerFlash } from './commands/flash.js';
import { registerHardware } from './commands/hardware.js';
import { registerInitrd } from './commands/initrd.js';
import { registerInspect } from './commands/inspect.js';
import { registerLock } from './commands/lock.js';
import { registerPackages } from './commands/packages.js';
import { registerTest } from './commands/test.js';
import { registerValidate } from './commands/validate.js';
import { registerVm } from './commands/vm.js';
import { processContext, type CliContext } from './context.js';
import { formatErrors } from './report.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Commander prints its own parse errors; bootforge prints them as BF_USAGE instead. */
function quietCommander(cmd: Command, ctx: CliContext): Command {
  return cmd.exitOverride().configureOutput({
    writeOut: (s) => ctx.out(s.trimEnd()),
    writeErr: (s) => ctx.err(s.trimEnd()),
    outputError: () => undefined,
  });
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('bootforge')
    .description('Build reproducible, bootable UEFI installer images from a declarative profile and Debian packages.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'show stack traces and internal details on errors')
    .showSuggestionAfterError(true);
  quietCommander(program, ctx);
  registerValidate(program, ctx);
  registerExplain(program, ctx);
  registerHardware(program, ctx);
  registerPackages(program, ctx);
  registerLock(program, ctx);
  registerInitrd(program, ctx);
  registerInspect(program, ctx);
  registerBuild(program, ctx);
  registerBundle(program, ctx);
  registerTest(program, ctx);
  registerVm(program, ctx);
  registerFlash(program, ctx);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program).slice(1)) quietCommander(cmd, ctx);
  return program;
}

/** Runs the CLI and returns the exit status: 0 ok, 2 bad input, 1 failure. */
export async function run(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const program = buildProgram(ctx);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successful exits; every other parse problem is bad usage.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0;
      const usage = new BootforgeError('BF_USAGE', e.message.replace(/^error: /, ''));
      ctx.err(formatErrors(usage, ctx.style));
      return 2;
    }
    if (isBootforgeError(e)) {
      ctx.err(formatErrors(e, ctx.style));
      if (debug && e.stack) ctx.err(e.stack);
      return e.exitCode;
    }
    const wrapped = new BootforgeError('BF_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
    ctx.err(formatErrors(wrapped, ctx.style));
    if (debug && e instanceof Error && e.stack) ctx.err(e.stack);
    else ctx.err('(run with --debug for the stack trace)');
    return 1;
  }
}

/** `bootforge hardware list | head`: a reader that has seen enough is not an error. */
export function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  endQuietlyOnClosedPipe();
  process.exitCode = await run(process.argv.slice(2));
}
