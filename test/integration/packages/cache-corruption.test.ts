/**
 * Every cache entry bootforge reads back is checked (issue 15): a corrupt one is
 * removed, warned about once, and fetched, parsed or unpacked again.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileEntry } from '../../../src/fstree/types.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { openPackageSource, resolveClosures, unpackPackages } from '../../../src/pipeline/packages.js';
import { buildRepo, writeKeyring, type BuiltRepo } from '../../helpers/debrepo.js';

let work: string;
let repo: BuiltRepo;
let keyring: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bf-cache-corrupt-'));
  repo = await buildRepo(join(work, 'repo'), {
    suites: {
      bookworm: {
        components: {
          main: [
            {
              name: 'tool',
              version: '1.0-1',
              files: { '/usr/bin/tool': '#!/bin/sh\necho tool\n', '/usr/share/doc/tool/README': 'read me\n' },
            },
          ],
        },
      },
    },
  });
  keyring = await writeKeyring(join(work, 'keyring.gpg'), repo.key);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A package source over the repository as a local folder, with its own cache. */
function source(cacheDir: string) {
  const reporter = new RecordingReporter();
  const src = openPackageSource(
    { suites: ['bookworm'], components: ['main'], architecture: 'amd64' },
    { mirror: repo.dir, keyring, cacheDir: join(work, cacheDir), env: {}, aptDir: join(work, 'no-apt') },
    reporter,
  );
  const warnings = () => reporter.events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
  return { src, warnings };
}

const resolveTool = async (s: ReturnType<typeof source>) => {
  const { closures } = await resolveClosures(s.src, { c: { requests: ['tool'], essential: false, priorities: [] } });
  const pkg = closures.c?.[0]?.record;
  if (!pkg) throw new Error('no package');
  return pkg;
};

const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The one file in `dir` (a cache folder keyed by hash). */
function onlyFile(dir: string): string {
  const [name, ...rest] = readdirSync(dir);
  expect(rest).toEqual([]);
  return join(dir, name!);
}

describe('corrupt cache entries', () => {
  it('a flipped byte in a blob: the package is unpacked again and the blob restored', async () => {
    const s = source('blob');
    const pkg = await resolveTool(s);
    const [first] = await unpackPackages(s.src, [pkg]);
    const tool = first!.entries.find((e): e is FileEntry => e.path === '/usr/bin/tool');
    if (!tool) throw new Error('no /usr/bin/tool');
    const blob = join(work, 'blob', 'blobs', tool.sha256.slice(0, 2), tool.sha256);
    const good = readFileSync(blob);
    writeFileSync(blob, Buffer.from(good.toString().replace('echo tool', 'echo t0ol')));

    const [again] = await unpackPackages(s.src, [pkg]);
    expect(again!.entries).toEqual(first!.entries);
    expect(sha256Of(readFileSync(blob))).toBe(tool.sha256);
    expect(s.warnings()).toEqual(['cached files of tool 1.0-1 were corrupt; unpacking it again']);
    await unpackPackages(s.src, [pkg]);
    expect(s.warnings()).toHaveLength(1);
  });

  it('a flipped byte in an unpacked manifest: removed, warned about once, unpacked again', async () => {
    const s = source('manifest');
    const pkg = await resolveTool(s);
    const [first] = await unpackPackages(s.src, [pkg]);
    const manifest = onlyFile(join(work, 'manifest', 'unpacked'));
    const text = readFileSync(manifest, 'utf8');
    const tool = first!.entries.find((e): e is FileEntry => e.path === '/usr/bin/tool')!;
    // Still valid JSON, and still a hash: only the hash of the content says it changed.
    const flipped = tool.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    writeFileSync(manifest, text.replace(tool.sha256, flipped));

    const [again] = await unpackPackages(s.src, [pkg]);
    expect(again!.entries).toEqual(first!.entries);
    expect(s.warnings()).toEqual(['the cached manifest of tool 1.0-1 was corrupt; unpacking it again']);
    expect(readFileSync(manifest, 'utf8')).toBe(text);
  });

  it('a flipped byte in a parsed repository index: removed, warned about, parsed again', async () => {
    const s = source('index');
    const pkg = await resolveTool(s);
    const index = onlyFile(join(work, 'index', 'index'));
    const text = readFileSync(index, 'utf8');
    writeFileSync(index, text.replace('"version":"1.0-1"', '"version":"9.0-1"'));

    const again = await resolveTool(s);
    expect(again.version).toBe(pkg.version);
    expect(s.warnings()).toEqual([`cached index ${index} was corrupt; reading it again`]);
    expect(readFileSync(index, 'utf8')).toBe(text);
  });
});
