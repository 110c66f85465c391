import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAptSources } from '../../../src/packages/apt-sources.js';
import { loadKeyring } from '../../../src/packages/keyring.js';
import { readLock } from '../../../src/packages/lock.js';

// Issue 15: every file the package stage reads is bounded and must be a regular file.
const work = mkdtempSync(join(tmpdir(), 'bf-bounded-'));

describe('bounded reads of package inputs', () => {
  it('refuses a keyring that is a device instead of reading it forever', async () => {
    await expect(loadKeyring({ path: '/dev/zero' })).rejects.toMatchObject({ code: 'BF_INPUT_NOT_FILE' });
  });

  it('refuses a lock that is not a regular file, and still reads a missing one as none', () => {
    mkdirSync(join(work, 'p.lock.json'));
    expect(() => readLock(join(work, 'p.lock.json'))).toThrow(expect.objectContaining({ code: 'BF_INPUT_NOT_FILE' }));
    expect(readLock(join(work, 'none.lock.json'))).toBeUndefined();
  });

  it('refuses an apt source that is a FIFO instead of waiting for a writer', () => {
    const apt = join(work, 'apt');
    mkdirSync(join(apt, 'sources.list.d'), { recursive: true });
    writeFileSync(join(apt, 'sources.list'), 'deb http://mirror.test/debian bookworm main\n');
    execFileSync('mkfifo', [join(apt, 'sources.list.d', 'trap.list')]);
    expect(() => readAptSources(apt)).toThrow(expect.objectContaining({ code: 'BF_INPUT_NOT_FILE' }));
  });
});
