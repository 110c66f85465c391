/** Update bundles as `bootforge bundle --base` reads them: the payload header, its zstd frames and the tar inside. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { payloadHeader } from '../../src/image/payload.js';
import { zstd } from '../../src/initrd/compress.js';
import { readBundleIndex } from '../../src/pipeline/delta.js';
import { makeTar } from '../helpers/make-deb.js';
import { fuzz } from './harness.js';
import { mutate, mutations } from './mutate.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-fuzz-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bundle whose header matches its payload: size and SHA-256 are recomputed, as a hostile bundle would be. */
function bundleOf(payload: Buffer): Buffer {
  const header = payloadHeader({
    payload_format: 'tar',
    payload_offset: 4096,
    payload_size: payload.length,
    payload_sha256: createHash('sha256').update(payload).digest('hex'),
    generation: 'abc123-demo',
  });
  return Buffer.concat([header, payload]);
}

function readBundle(bytes: Buffer): Promise<unknown> {
  const path = join(work, 'base.bundle');
  writeFileSync(path, bytes);
  return readBundleIndex(path);
}

describe('bundles', () => {
  let payload: Buffer;
  let bundle: Buffer;
  beforeAll(async () => {
    const tar = await makeTar([
      { name: './', type: 'directory' },
      { name: './etc/', type: 'directory' },
      { name: './etc/hostname', content: 'demo\n' },
      { name: './usr/bin/sh', content: '#!busybox\n', mode: 0o755 },
      { name: './usr/bin/ash', type: 'link', linkname: './usr/bin/sh' },
      { name: `./usr/share/${'long/'.repeat(30)}file`, content: 'deep' },
    ]);
    // Two independent frames, as the bundle writer makes them.
    payload = Buffer.concat([await zstd(tar.subarray(0, 1024), 3), await zstd(tar.subarray(1024), 3)]);
    bundle = bundleOf(payload);
  });

  it('readBundleIndex: mutated header', () =>
    fuzz({
      parser: 'bundle (header, zstd frames, tar)',
      input: 'mutated header',
      arbitrary: fc.constant(null).chain(() => mutations(bundle.length, { hot: [[0, 200]], text: true })),
      run: (list) => readBundle(mutate(bundle, list)),
      runs: 600,
      timeLimitMs: 3000,
    }));

  it('readBundleIndex: mutated payload under a header that matches it', () =>
    fuzz({
      parser: 'bundle (header, zstd frames, tar)',
      input: 'mutated payload, re-sealed',
      arbitrary: fc.constant(null).chain(() => mutations(payload.length, { hot: [[0, 32]] })),
      run: (list) => readBundle(bundleOf(mutate(payload, list))),
      runs: 1000,
      timeLimitMs: 4000,
    }));
});
