import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const work = mkdtempSync(join(tmpdir(), 'bootforge-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Peak memory the CLI may reach on a hostile input: a streaming reader stays far below it. */
const MAX_RSS_KB = 512 * 1024;

/** bin/bootforge inspect under /usr/bin/time: exit code, stderr and peak RSS in KiB. */
function inspect(file: string) {
  const r = spawnSync('/usr/bin/time', ['-f', 'peak-rss-kb %M', 'bin/bootforge', 'inspect', file], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  const rss = Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1]);
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr.replace(/^(Command exited.*|peak-rss-kb.*)\n/gm, ''),
    rss,
  };
}

/** 1.1 GiB of zeros through a compressor's CLI: a few KB to MB that expand past the 1 GiB bound. */
function bomb(name: string, compressor: string): string {
  const file = join(work, name);
  execFileSync('sh', ['-c', `head -c 1100M /dev/zero | ${compressor} > '${file}'`]);
  return file;
}

describe('bootforge inspect on decompression bombs', () => {
  it.each([
    ['zstd', 'zstd -q -3 -c'],
    ['gzip', 'gzip -1 -c'],
    ['xz', 'xz -0 -T1 -c'],
  ])(
    'stops a %s bomb with BF_EXPANDS_TOO_FAR, exit 2, in bounded memory',
    (name, compressor) => {
      const r = inspect(bomb(`bomb.${name}`, compressor));
      expect(r.stderr).toMatch(
        new RegExp(`^BF_EXPANDS_TOO_FAR: initrd .*: the ${name} segment at offset 0 expands past 1 GiB\\n`),
      );
      expect(r.code).toBe(2);
      expect(r.rss).toBeGreaterThan(0);
      expect(r.rss).toBeLessThan(MAX_RSS_KB);
    },
    180_000,
  );
});

describe('bootforge inspect on what is not a file', () => {
  it('refuses /dev/zero at once', () => {
    const r = inspect('/dev/zero');
    expect(r.stderr).toMatch(/^BF_INPUT_NOT_FILE: image \/dev\/zero is a character device, not a regular file\n/);
    expect(r.code).toBe(2);
    expect(r.rss).toBeLessThan(MAX_RSS_KB);
  });

  it('refuses a directory, and a FIFO without waiting for a writer', () => {
    const dir = join(work, 'dir');
    mkdirSync(dir);
    expect(inspect(dir)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^BF_INPUT_NOT_FILE: .* is a directory/),
    });
    const fifo = join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(inspect(fifo)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^BF_INPUT_NOT_FILE: .* is a FIFO/) });
  });

  it('says a 1.9 GB file of zeros is neither an initrd nor an image, without reading it', () => {
    const zeros = join(work, 'zeros.img');
    writeFileSync(zeros, '');
    truncateSync(zeros, 1_900_000_000);
    const started = Date.now();
    const r = inspect(zeros);
    expect(r.stderr).toMatch(/^BF_NOT_INSPECTABLE: .*zeros.img is neither an initrd nor a disk image/);
    expect(r.code).toBe(2);
    expect(r.rss).toBeLessThan(MAX_RSS_KB);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

