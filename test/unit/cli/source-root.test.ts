import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveOptionsOf } from '../../../src/cli/context.js';
import { buildProgram } from '../../../src/cli/main.js';
import { runCli } from '../../helpers/cli.js';

const ctx = { out: () => undefined, err: () => undefined, style: { color: false } };

describe('--source-root', () => {
  it.each(['explain', 'validate', 'build', 'initrd', 'lock', 'bundle', 'test', 'vm'])('is an option of %s', (name) => {
    const cmd = buildProgram(ctx).commands.find((c) => c.name() === name);
    expect(cmd?.options.map((o) => o.long)).toContain('--source-root');
  });

  it('is repeatable, keeps commas in folder names, and comes before BOOTFORGE_SOURCE_ROOTS', () => {
    const program = buildProgram(ctx);
    const validate = program.commands.find((c) => c.name() === 'validate');
    validate?.action(() => undefined);
    program.parse(['validate', 'p.yaml', '--source-root', '/a,b', '--source-root', 'c'], { from: 'user' });
    const opts = validate?.opts() as { sourceRoot?: string[] };
    expect(opts.sourceRoot).toEqual(['/a,b', 'c']);
    expect(resolveOptionsOf('p.yaml', opts, { BOOTFORGE_SOURCE_ROOTS: '/d:/e' }).sourceRoots).toEqual([
      '/a,b',
      join(process.cwd(), 'c'),
      '/d',
      '/e',
    ]);
  });

  it('lets a profile read a file outside its folder only when allowed', async () => {
    const work = mkdtempSync(join(tmpdir(), 'bf-source-root-'));
    mkdirSync(join(work, 'p'));
    mkdirSync(join(work, 'shared'));
    writeFileSync(join(work, 'shared', 'motd'), 'hi\n');
    const profile = join(work, 'p', 'p.yaml');
    writeFileSync(profile, 'name: p\nfiles: [{path: /etc/motd, source: ../shared/motd}]\n');
    const refused = await runCli(['validate', profile]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `BF_SOURCE_OUTSIDE: files[0].source: source file ${join(work, 'shared', 'motd')} lies outside`,
    );
    const allowed = await runCli(['validate', profile, '--source-root', join(work, 'shared')]);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
  });
});

describe('inputs over their bound', () => {
  it('refuses a profile larger than 1 MiB before parsing it (BF_INPUT_TOO_LARGE)', async () => {
    const profile = join(mkdtempSync(join(tmpdir(), 'bf-big-')), 'big.yaml');
    writeFileSync(profile, `name: big\ndescription: ${'x'.repeat(1024 * 1024)}\n`);
    const r = await runCli(['validate', profile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^BF_INPUT_TOO_LARGE: profile .*big\.yaml is larger than 1 MiB/);
  });
});
