import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toolPath } from '../../../src/exec/run.js';
import { busyboxApplets } from '../../../src/install/busybox.js';

describe('busyboxApplets', () => {
  it('reads the same applet list from the binary as `busybox --list` prints', (ctx) => {
    const busybox = toolPath('busybox');
    const listed = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
    if (listed.status !== 0) ctx.skip('busybox not installed (apt-get install busybox-static)');
    const path = spawnSync('sh', ['-c', 'readlink -f "$(command -v "$1")"', 'sh', busybox], { encoding: 'utf8' });
    const binary = readFileSync(path.stdout.trim());
    const expected = listed.stdout.trim().split('\n').sort();
    expect(busyboxApplets(binary).sort()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(100);
  });

  it('finds nothing in a binary without the table, and stops at the end of it', () => {
    expect(busyboxApplets(Buffer.from('\x7fELF no applets here'))).toEqual([]);
    const table = Buffer.from('junk\0[\0[[\0ash\0cat\0sh\0\0zzz\0', 'latin1');
    expect(busyboxApplets(table)).toEqual(['[', '[[', 'ash', 'cat', 'sh']);
  });
});
