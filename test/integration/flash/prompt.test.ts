/**
 * bootforge flash's confirmation on a real terminal (a pseudo-terminal from
 * script(1)): the device list comes before the question also with --json, and
 * Ctrl-D or Ctrl-C at the question is a "no" (BF_FLASH_CONFIRM, exit 2). Also the
 * hidden test hooks (BOOTFORGE_SYSFS, ...) never act silently.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { hostTool } from '../../helpers/fake-sysfs.js';
import { makeFlashImage, type FlashImage } from '../../helpers/flash-image.js';
import { withEnv } from '../../helpers/flash-loop.js';

const MIB = 1024 * 1024;
const tmp = mkdtempSync(join(tmpdir(), 'bootforge-flash-prompt-'));
let image: FlashImage;
beforeAll(async () => {
  image = await makeFlashImage(tmp, 'prompt.img', 8 * MIB);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs bin/bootforge on a pseudo-terminal; sends `keys` once the question is asked. */
async function onTerminal(args: readonly string[], keys: string): Promise<{ code: number | null; output: string }> {
  const command = ['bin/bootforge', ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, NO_COLOR: '1', TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let sent = false;
  const onData = (d: Buffer): void => {
    output += d.toString();
    if (!sent && output.includes('Type "yes"')) {
      sent = true;
      child.stdin.write(keys);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output: output.replaceAll('\r', '') };
}

describe.skipIf(hostTool('script') === null)('flash confirmation on a terminal', () => {
  it.each([
    ['Ctrl-D', '\x04'],
    ['Ctrl-C', '\x03'],
  ])('%s at the question is a no: BF_FLASH_CONFIRM, exit 2, the device list shown first (--json)', async (_k, key) => {
    const target = join(tmp, `stick-${key.charCodeAt(0)}.img`);
    const { code, output } = await onTerminal(['flash', image.path, target, '--allow-file', '--json'], key);
    expect(output).not.toContain('BF_INTERNAL');
    expect(output).toContain('BF_FLASH_CONFIRM');
    expect(code, output).toBe(2);
    const list = output.indexOf(`  ${target}: regular file (new)`);
    expect(list, output).toBeGreaterThanOrEqual(0);
    expect(list).toBeLessThan(output.indexOf('Type "yes"'));
    expect(existsSync(target)).toBe(false);
  });

  it('"yes" writes', async () => {
    const target = join(tmp, 'stick-yes.img');
    const { code, output } = await onTerminal(['flash', image.path, target, '--allow-file'], 'yes\r');
    expect(code, output).toBe(0);
    expect(existsSync(target)).toBe(true);
  });
});

describe('the hidden test hooks are never silent', () => {
  it('names each variable set in a warning and in the --json result', async () => {
    const mountinfo = join(tmp, 'mountinfo');
    writeFileSync(mountinfo, '');
    const target = join(tmp, 'hooked.img');
    const plain = await withEnv({ BOOTFORGE_MOUNTINFO: mountinfo }, () =>
      runCli(['flash', image.path, target, '--allow-file', '--yes']),
    );
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(
      `bootforge: warning: BOOTFORGE_MOUNTINFO=${mountinfo} is set: flash reads the mount table from there, not from the host (a test hook; unset it)`,
    );
    const json = await withEnv({ BOOTFORGE_MOUNTINFO: mountinfo }, () =>
      runCli(['flash', image.path, target, '--allow-file', '--yes', '--json']),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ testHooks: { BOOTFORGE_MOUNTINFO: mountinfo } });
    const clean = await runCli(['flash', image.path, target, '--allow-file', '--yes', '--json']);
    expect(clean.stderr).not.toContain('BOOTFORGE_');
    expect(JSON.parse(clean.stdout)).toMatchObject({ testHooks: {} });
  });
});
