import { chmodSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { run } from '../exec/run.js';

/** A TCP port on 127.0.0.1 that nothing listens on now (for QEMU's hostfwd). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SshLogin {
  readonly port: number;
  readonly user: string;
  /** Private key file; copied with mode 0600 (ssh refuses a key others can read). */
  readonly identity: string;
  readonly workDir: string;
  readonly timeoutMs: number;
}

/**
 * Logs in to the guest over QEMU's forwarded port with the user's key and runs `command`,
 * retrying until sshd answers (it may start after the test shell). Resolves with the
 * command's output; rejects with ssh's last error when the time is up.
 */
export async function sshRun(login: SshLogin, command: string): Promise<string> {
  const key = join(login.workDir, 'ssh-identity');
  copyFileSync(login.identity, key);
  chmodSync(key, 0o600);
  const argv = [
    'ssh',
    '-i',
    key,
    '-p',
    String(login.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    `${login.user}@127.0.0.1`,
    command,
  ];
  const deadline = Date.now() + login.timeoutMs;
  let last = '';
  for (;;) {
    const r = await run(argv, { okCodes: [0, 255], timeoutMs: 60_000 }).catch((e: Error) => ({
      code: -1,
      stdout: Buffer.alloc(0),
      stderr: e.message,
    }));
    // 255 is ssh's own failure (no connection, key refused); anything else is the command's.
    if (r.code === 0) return r.stdout.toString();
    last = r.stderr.trim();
    if (r.code !== 255 && r.code !== -1) throw new Error(`ssh ${login.user}@guest ${command}: exit ${r.code}: ${last}`);
    if (Date.now() > deadline) throw new Error(`ssh ${login.user}@127.0.0.1:${login.port} never worked: ${last}`);
    await new Promise((r2) => setTimeout(r2, 3000));
  }
}
