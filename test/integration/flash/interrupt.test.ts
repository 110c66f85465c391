/**
 * Ctrl-C or SIGTERM during `bootforge flash` to a file: the real executable is
 * interrupted mid-write (once its temporary file exists) and must leave neither the
 * temporary file nor the target behind, and exit as a command stopped by that signal.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-flash-interrupt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const temps = (dir: string) => readdirSync(dir).filter((f) => f.includes('bootforge-tmp'));

describe('bootforge flash to a file, interrupted', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    'on %s removes its temporary file, writes no target and exits %i',
    async (signal, status) => {
      const dir = join(tmp, signal);
      const image = join(tmp, `${signal}.img`);
      const target = join(dir, 'stick.img');
      // Sparse, and written whole (--no-bmap): seconds of writing, next to no disk used before the signal.
      writeFileSync(image, '');
      truncateSync(image, 4 * 1024 ** 3);
      mkdirSync(dir);
      const child = spawn('bin/bootforge', ['flash', image, target, '--allow-file', '--yes', '--no-bmap'], {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

      const deadline = Date.now() + 30_000;
      let sawTemp = false;
      while (Date.now() < deadline && child.exitCode === null) {
        if (temps(dir).length > 0) {
          sawTemp = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(sawTemp, `no temporary file appeared; stderr: ${stderr}`).toBe(true);
      child.kill(signal);
      const code = await exited;

      expect(code, stderr).toBe(status);
      expect(stderr).toContain('interrupted');
      expect(temps(dir)).toEqual([]);
      expect(readdirSync(dir)).not.toContain('stick.img');
    },
    60_000,
  );
});
