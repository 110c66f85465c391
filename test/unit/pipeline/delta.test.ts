import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { payloadHeader } from '../../../src/image/payload.js';
import { readBundleIndex } from '../../../src/pipeline/delta.js';
import { makeBundle, zstdTar } from '../../helpers/gen-machine.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-delta-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('readBundleIndex: the base bundle of a delta is an input like any other', () => {
  it('reads a full bundle', async () => {
    const a = await makeBundle(work, 'a');
    const index = await readBundleIndex(a.path);
    expect(index.name).toBe(a.name);
    expect(index.files.get('/etc/variant')?.sha256).toBe(sha(Buffer.from('a\n')));
  });

  it('refuses a payload_offset of 10^23 (an empty payload "found" past the end of the file)', async () => {
    const path = join(work, 'far.bundle');
    const header = payloadHeader({
      payload_offset: '100000000000000000000000',
      payload_size: 0,
      payload_sha256: sha(Buffer.alloc(0)),
      payload_uncompressed_size: 0,
      payload_format: 'tar',
      generation: `${'e'.repeat(32)}-demo`,
    });
    writeFileSync(path, header);
    await expect(readBundleIndex(path)).rejects.toThrow(/payload_offset is not a number of at most 15 digits/);
  });

  it('refuses a payload that expands past the size its header gives', async () => {
    const payload = await zstdTar([{ name: './big', data: 'x'.repeat(100_000) }]);
    const path = join(work, 'bomb.bundle');
    const header = payloadHeader({
      payload_offset: 4096,
      payload_size: payload.length,
      payload_sha256: sha(payload),
      payload_uncompressed_size: 1000,
      payload_format: 'tar',
      generation: `${'e'.repeat(32)}-demo`,
    });
    writeFileSync(path, Buffer.concat([header, payload]));
    await expect(readBundleIndex(path)).rejects.toMatchObject({ code: 'BF_EXPANDS_TOO_FAR' });
  });
});
