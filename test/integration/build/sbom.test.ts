import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockFile } from '../../../src/packages/lock.js';
import type { DiskImageReport } from '../../../src/pipeline/inspect.js';

// A locked build of the demo profile (with a hardware description), built twice: its SBOM
// against the official CycloneDX 1.5 schema and the lock; `bootforge inspect` against sfdisk and mtools.
const work = mkdtempSync(join(tmpdir(), 'bf-sbom-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bin = join(process.cwd(), 'bin/bootforge');
function bootforge(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });

interface Component {
  type: string;
  name: string;
  version: string;
  purl: string;
  hashes: { alg: string; content: string }[];
  licenses?: { license: { id?: string; name?: string } }[];
  properties: { name: string; value: string }[];
}
interface Sbom {
  serialNumber: string;
  metadata: { timestamp: string; properties: { name: string; value: string }[]; component: { name: string } };
  components: Component[];
}

const profile = join(work, 'profiles', 'minimal.yaml');
const outA = join(work, 'a', 'minimal');
const outB = join(work, 'b', 'minimal');
let lock: LockFile;
let sbom: Sbom;

beforeAll(() => {
  // The profiles are copied so that bootforge lock writes its lock beside the copy, not into the repository.
  sh(`mkdir -p ${dirname(profile)}`);
  for (const f of ['minimal.yaml', 'base.yaml']) copyFileSync(join('profiles', f), join(dirname(profile), f));
  const locked = bootforge(['lock', profile, '--quiet']);
  expect(locked.code, locked.stderr).toBe(0);
  lock = JSON.parse(readFileSync(join(dirname(profile), 'minimal.lock.json'), 'utf8')) as LockFile;
  const r = bootforge(['build', profile, '--hardware', 'qemu-x86_64', '--out', outA, '--quiet'], { TZ: 'UTC' });
  expect(r.code, r.stderr).toBe(0);
  sbom = JSON.parse(readFileSync(join(outA, 'sbom.cdx.json'), 'utf8')) as Sbom;
}, 10 * 60_000);

describe('the SBOM of a build (sbom.cdx.json)', () => {
  it('is valid CycloneDX 1.5 by the official JSON schema', () => {
    const schemas = join(
      dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json')),
      'res/schema',
    );
    const load = (f: string) => JSON.parse(readFileSync(join(schemas, f), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    // The 1.5 schema refers to its neighbours by their file names.
    for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json'])
      ajv.addSchema({ ...load(f), $id: `http://cyclonedx.org/schema/${f}` });
    const validate = ajv.compile(load('bom-1.5.SNAPSHOT.schema.json'));
    const ok = validate(sbom);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5))).toEqual([]);
    expect(ok).toBe(true);
    // The validator is not vacuous: a wrong license id is refused.
    const broken = structuredClone(sbom);
    broken.components[0]!.licenses = [{ license: { id: 'Not-A-License' } }];
    expect(validate(broken)).toBe(false);
  });

  it('lists every package of the lock once, with its version, SHA-256, purl and closures', () => {
    const expected = new Map<string, { sha256: string; suite: string; closures: string[] }>();
    for (const [closure, { packages }] of Object.entries(lock.closures))
      for (const p of packages) {
        const key = `${p.name} ${p.version} ${p.architecture}`;
        const seen = expected.get(key);
        if (seen) seen.closures.push(closure);
        else expected.set(key, { sha256: p.sha256, suite: p.suite, closures: [closure] });
      }
    expect(sbom.components).toHaveLength(expected.size);
    for (const c of sbom.components) {
      const arch = c.properties.find((p) => p.name === 'debian:architecture')?.value;
      const want = expected.get(`${c.name} ${c.version} ${arch}`);
      expect(want, c.name).toBeDefined();
      expect(c.hashes).toEqual([{ alg: 'SHA-256', content: want?.sha256 }]);
      // Read the purl back as a purl parser does (decode each part) instead of rebuilding it the same way.
      const purl = /^pkg:deb\/debian\/([^@/?#]+)@([^?#]+)\?arch=([^&#]+)&distro=([^&#]+)$/.exec(c.purl);
      expect(purl, c.purl).not.toBeNull();
      const [, name = '', version = '', purlArch = '', distro = ''] = purl ?? [];
      expect(decodeURIComponent(name)).toBe(c.name);
      expect(decodeURIComponent(version)).toBe(c.version);
      expect(version).not.toMatch(/[+ ]/); // '+' and spaces are percent-encoded
      expect(purlArch).toBe(arch);
      expect(want?.suite.startsWith(decodeURIComponent(distro))).toBe(true);
      expect(
        c.properties
          .filter((p) => p.name === 'bootforge:closure')
          .map((p) => p.value)
          .sort(),
      ).toEqual(want?.closures.sort());
      expect(['library', 'application']).toContain(c.type);
    }
    const installer = lock.closures.installer?.packages.length ?? 0;
    expect(sbom.components.length).toBeGreaterThanOrEqual(installer);
  });

  it('records the build: profile, lock, hardware, image, payload and generation', () => {
    const prop = (n: string) => sbom.metadata.properties.find((p) => p.name === n)?.value;
    const manifest = JSON.parse(readFileSync(join(outA, 'manifest.json'), 'utf8')) as {
      lockSha256: string;
      profileSha256: string;
      sourceDateEpoch: number;
      payload: { sha256: string };
      generation: { id: string };
    };
    expect(prop('bootforge:lock:sha256')).toBe(manifest.lockSha256);
    expect(prop('bootforge:profile:sha256')).toBe(manifest.profileSha256);
    expect(prop('bootforge:payload:sha256')).toBe(manifest.payload.sha256);
    expect(prop('bootforge:generation:id')).toBe(manifest.generation.id);
    expect(prop('bootforge:hardware:qemu-x86_64:sha256')).toBe(
      sh(`sha256sum hardware/qemu-x86_64.yaml`).stdout.split(' ')[0],
    );
    expect(prop('bootforge:image:sha256')).toBe(sh(`sha256sum ${outA}/installer.img`).stdout.split(' ')[0]);
    expect(sbom.metadata.timestamp).toBe(new Date(lock.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z'));
    expect(sh(`cd ${outA} && grep -c sbom.cdx.json SHA256SUMS && sha256sum -c SHA256SUMS`).status).toBe(0);
  });

  it('takes licenses from machine-readable copyright files only', () => {
    const licensed = sbom.components.filter((c) => c.licenses !== undefined);
    expect(licensed.length).toBeGreaterThan(sbom.components.length / 2);
    // busybox's copyright file is free-form prose: no license is guessed for it.
    expect(sbom.components.find((c) => c.name === 'busybox-static')?.licenses).toBeUndefined();
    expect(licensed.flatMap((c) => c.licenses ?? []).some((l) => l.license.id === 'GPL-2.0-or-later')).toBe(true);
  });

  it(
    'is the same bytes from a second build elsewhere, at another time and TZ',
    () => {
      const r = bootforge(['build', profile, '--hardware', 'qemu-x86_64', '--out', outB, '--quiet'], {
        TZ: 'Pacific/Chatham',
      });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(outB, 'sbom.cdx.json'), 'utf8')).toBe(readFileSync(join(outA, 'sbom.cdx.json'), 'utf8'));
    },
    10 * 60_000,
  );
});

describe('bootforge inspect', () => {
  const img = () => join(outA, 'installer.img');

  it('reads the GPT and the ESP of an image as sfdisk and mtools do', () => {
    const r = bootforge(['inspect', img(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DiskImageReport;
    expect(report.kind).toBe('disk');
    const table = (
      JSON.parse(sh(`sfdisk --json ${img()}`).stdout) as {
        partitiontable: {
          id: string;
          partitions: { type: string; name: string; start: number; size: number; uuid: string }[];
        };
      }
    ).partitiontable;
    expect(report.gpt.ok).toBe(true);
    expect(report.gpt.diskGuid).toBe(table.id);
    expect(report.gpt.partitions.map((p) => [p.start, p.sectors, p.type, p.name, p.guid])).toEqual(
      table.partitions.map((p) => [p.start, p.size, p.type, p.name, p.uuid]),
    );
    const offset = (table.partitions[0]?.start ?? 0) * 512;
    const files = sh(`mdir -/ -b -i ${img()}@@${offset} ::`)
      .stdout.split('\n')
      .filter((l) => l !== '' && !l.endsWith('/'))
      .map((l) => l.replace(/^::/, ''));
    expect(report.esp?.files.map((f) => f.path).sort()).toEqual(files.sort());
    for (const [path, text] of Object.entries(report.esp?.loader ?? {}))
      expect(text, path).toBe(sh(`mcopy -i ${img()}@@${offset} ::${path} -`).stdout);
    expect(Object.keys(report.esp?.loader ?? {}).sort()).toEqual([
      '/loader/entries/bootforge-install.conf',
      '/loader/entries/bootforge-rescue.conf',
      '/loader/loader.conf',
    ]);
    expect(report.payload?.pinnedBy).toHaveLength(2);
    expect(report.payload?.mismatched).toEqual([]);
    expect(report.payload?.espCopyMatches).toBe(true);
    expect(report.payload?.header.generation).toBe(report.manifest?.generation);
    expect(report.sbom?.components).toBe(sbom.components.length);
    expect(report.sbom?.withLicenses).toBe(sbom.components.filter((c) => c.licenses).length);
  });

  it('prints the same in text, and still reads an initrd as before', () => {
    const r = bootforge(['inspect', img()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/GPT disk image, 160 MiB/);
    expect(r.stdout).toContain('EFI System / ESP / ');
    expect(r.stdout).toContain('pinned by 2 boot entries; ESP copy identical');
    expect(r.stdout).toContain(`sbom.cdx.json: ${sbom.components.length} packages`);
    const offset = Number(/^\s+1\s+(\d+)/m.exec(r.stdout)?.[1]) * 512;
    const initrd = join(work, 'initrd.img');
    expect(sh(`mcopy -i ${img()}@@${offset} ::/bootforge/initrd.img ${initrd}`).status).toBe(0);
    const text = bootforge(['inspect', initrd]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^segment at 0: /);
    const json = JSON.parse(bootforge(['inspect', initrd, '--json']).stdout) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['size', 'segments']);
  });

  it('reads a qcow2 image (through qemu-img) as the raw image it was made from', () => {
    const q = join(work, 'installer.qcow2');
    expect(sh(`qemu-img convert -f raw -O qcow2 ${img()} ${q}`).status).toBe(0);
    const fromRaw = JSON.parse(bootforge(['inspect', img(), '--json']).stdout) as DiskImageReport;
    const r = bootforge(['inspect', q, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fromQcow2 = JSON.parse(r.stdout) as DiskImageReport;
    expect(fromQcow2.gpt).toEqual(fromRaw.gpt);
    expect(fromQcow2.esp).toEqual(fromRaw.esp);
    expect(fromQcow2.payload).toEqual(fromRaw.payload);
    expect(fromQcow2.size).toBe(fromRaw.size);
  });
});
