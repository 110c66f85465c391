import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BootforgeError } from '../errors/index.js';

/** Debian packages that provide the host tools bootforge may call, for "install X" hints. */
const PROVIDERS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  sfdisk: 'fdisk',
  sgdisk: 'gdisk',
  'fsck.fat': 'dosfstools',
  mdir: 'mtools',
  mcopy: 'mtools',
  cpio: 'cpio',
  xz: 'xz-utils',
  zstd: 'zstd',
  shellcheck: 'shellcheck',
  localedef: 'libc-bin',
  ssh: 'openssh-client',
  dracut: 'dracut',
  mkinitramfs: 'initramfs-tools-core',
  depmod: 'kmod',
};

export interface RunOptions {
  readonly cwd?: string;
  /** Added to a minimal, fixed environment (PATH, LC_ALL=C, TZ=UTC): tools behave the same everywhere. */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: Buffer | string;
  readonly timeoutMs?: number;
  /** Exit codes that are not failures (default: only 0). */
  readonly okCodes?: readonly number[];
}

export interface RunResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * The tool to run for a name: BOOTFORGE_TOOL_<NAME> (upper case, "-" and "." as
 * "_") overrides it, so a user can point bootforge at another QEMU or mkfs.
 */
export function toolPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = `BOOTFORGE_TOOL_${name.toUpperCase().replace(/[-.]/g, '_')}`;
  return env[key] ?? name;
}

export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C',
    TZ: 'UTC',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
  };
}

/**
 * Runs a program from an argv list (never a shell string) and collects its
 * output. A missing program becomes "install <package>"; a failure names the
 * exact command once, with its stderr.
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [name, ...args] = argv;
  if (name === undefined) throw new BootforgeError('BF_INTERNAL', 'run() needs a program');
  const program = toolPath(name);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...baseEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') {
        const pkg = PROVIDERS[name];
        reject(
          new BootforgeError('BF_TOOL_MISSING', `${program} is not installed`, {
            hint: pkg
              ? `install it: apt-get install ${pkg}`
              : `install ${name}, or set BOOTFORGE_TOOL_${name.toUpperCase()}`,
          }),
        );
      } else reject(new BootforgeError('BF_TOOL_FAILED', `cannot run ${program}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      if ((options.okCodes ?? [0]).includes(result.code)) resolve(result);
      else {
        const why = signal
          ? `was killed by ${signal}${options.timeoutMs ? ` (timeout ${options.timeoutMs} ms)` : ''}`
          : `exited with ${result.code}`;
        reject(
          new BootforgeError(
            'BF_TOOL_FAILED',
            `${[program, ...args].join(' ')} ${why}: ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
      }
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Whether a tool can be run (its --version or an equivalent exits). */
export async function hasTool(name: string, probeArgs: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await run([name, ...probeArgs], { okCodes: [0, 1, 2], timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why a long-running program did not start: "install <package>" when it is missing. */
function startError(name: string, program: string, e: NodeJS.ErrnoException): BootforgeError {
  const pkg = PROVIDERS[name];
  return e.code === 'ENOENT'
    ? new BootforgeError(
        'BF_TOOL_MISSING',
        `${program} is not installed`,
        pkg ? { hint: `install it: apt-get install ${pkg}` } : {},
      )
    : new BootforgeError('BF_TOOL_FAILED', `cannot run ${program}: ${e.message}`, { cause: e });
}

export interface Interactive {
  readonly stdout: Readable;
  readonly stdin: Writable;
  readonly stderrText: () => string;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a long-running program (QEMU) whose stdin/stdout the caller drives. */
export function spawnInteractive(argv: readonly string[], options: Pick<RunOptions, 'cwd' | 'env'> = {}): Interactive {
  const [name, ...args] = argv;
  if (name === undefined) throw new BootforgeError('BF_INTERNAL', 'spawnInteractive() needs a program');
  const program = toolPath(name);
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: { ...baseEnv(), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(startError(name, program, e)));
    child.on('close', (code) => resolve(code ?? -1));
  });
  return {
    stdout: child.stdout,
    stdin: child.stdin,
    stderrText: () => stderr,
    exited,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
  };
}

/**
 * Runs a program on this process's terminal (stdin, stdout and stderr inherited), e.g.
 * QEMU with its serial console for a person; resolves with its exit code (-1 when
 * killed by a signal). Meanwhile a SIGINT or SIGTERM sent to bootforge alone is passed on
 * to it, not taken as a reason to leave it running.
 */
export function runAttached(argv: readonly string[], options: Pick<RunOptions, 'cwd' | 'env'> = {}): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) throw new BootforgeError('BF_INTERNAL', 'runAttached() needs a program');
  const program = toolPath(name);
  const child = spawn(program, args, { cwd: options.cwd, env: { ...baseEnv(), ...options.env }, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(startError(name, program, e)));
    child.on('close', (code) => resolve(code ?? -1));
  }).finally(() => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  });
}
