import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// The checked-in signed repository (test/fixtures/repo) through a file: mirror.
const repoFlags = (cache: string) => [
  '--mirror',
  'test/fixtures/repo',
  '--keyring',
  'test/fixtures/repo/keyring.gpg',
  '--suite',
  'bookworm',
  '--cache-dir',
  cache,
];

describe('bootforge packages', () => {
  it('resolve --json prints the closure', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'bf-cli-'));
    const r = await runCli(['packages', 'resolve', 'hello', ...repoFlags(cache), '--quiet', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject([
      { name: 'hello', version: '2.10-3', suite: 'bookworm', reason: 'requested' },
    ]);
  });

  it('fetch downloads into the cache and says where', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'bf-cli-'));
    const r = await runCli(['packages', 'fetch', 'hello', ...repoFlags(cache), '--quiet', '--json']);
    expect(r.code).toBe(0);
    const [pkg] = JSON.parse(r.stdout) as { path: string; sha256: string }[];
    expect(pkg?.path).toBe(join(cache, 'sha256', pkg?.sha256.slice(0, 2) ?? '', pkg?.sha256 ?? ''));
    expect(existsSync(pkg?.path ?? '')).toBe(true);
  });
});
