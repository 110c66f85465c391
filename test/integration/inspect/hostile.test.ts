import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
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
    const onDir = inspect(dir);
    expect(onDir.stderr).toMatch(/^BF_INPUT_NOT_FILE: .* is a directory/);
    expect(onDir.code).toBe(2);
    const fifo = join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const onFifo = inspect(fifo);
    expect(onFifo.stderr).toMatch(/^BF_INPUT_NOT_FILE: .* is a FIFO/);
    expect(onFifo.code).toBe(2);
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

/** bin/bootforge inspect without blocking the event loop (a test server must keep accepting meanwhile). */
function inspectAsync(file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bin/bootforge', ['inspect', file], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('bootforge inspect on a qcow2 that refers to other files', () => {
  it('refuses an nbd:// backing file without connecting to it', async () => {
    const connections: string[] = [];
    const server = createServer((socket) => {
      connections.push(String(socket.remoteAddress));
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const image = join(work, 'nbd.qcow2');
      execFileSync('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-u',
        '-b',
        `nbd://127.0.0.1:${port}/x`,
        '-F',
        'raw',
        image,
        '16M',
      ]);
      const r = await inspectAsync(image);
      expect(r.stderr).toMatch(/^BF_IMAGE_NOT_STANDALONE: qcow2 image .*nbd.qcow2 names a backing file/);
      expect(r.code).toBe(2);
      expect(connections).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('refuses a local backing file and an external data file', () => {
    const base = join(work, 'base.img');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, '16M']);
    const overlay = join(work, 'overlay.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', overlay]);
    expect(inspect(overlay).stderr).toMatch(/^BF_IMAGE_NOT_STANDALONE: .* names a backing file/);
    const withData = join(work, 'data.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      `data_file=${join(work, 'data.raw')}`,
      withData,
      '16M',
    ]);
    const r = inspect(withData);
    expect(r.stderr).toMatch(/^BF_IMAGE_NOT_STANDALONE: .* keeps its data in an external data file/);
    expect(r.code).toBe(2);
  });
});
