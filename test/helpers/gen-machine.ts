import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import type { TreeEntry } from '../../src/fstree/types.js';
import { payloadHeader, tarOf, zstdFrames, type TarNaming } from '../../src/image/payload.js';
import { deltaPlan, readBundleIndex } from '../../src/pipeline/delta.js';
import { renderTemplate } from '../../src/templates/render.js';

/**
 * A bootforge machine as folders, for running bootforge-gen on the build host:
 * root/bootforge/{store,generations,state}, the ESP, efivars, /run and /proc/cmdline.
 */
export interface FakeMachine {
  readonly dir: string;
  readonly root: string;
  readonly esp: string;
  readonly efivars: string;
  readonly run: string;
  readonly cmdline: string;
}

export interface TestBundle {
  readonly path: string;
  readonly headerSha256: string;
  readonly name: string;
  readonly id: string;
  readonly kernel: Buffer;
  readonly initrd: Buffer;
}

const LOADER_GUID = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

/** A small but real bundle: a tree with generation.conf, a "kernel" and an "initrd", as bootforge writes one. */
export async function makeBundle(
  dir: string,
  variant: string,
  /** conf: generation.conf's text instead of the rendered template's. */
  options: { tries?: number; base?: TestBundle; conf?: string } = {},
): Promise<TestBundle> {
  const kernel = Buffer.from(`kernel ${variant}\n`.repeat(1000));
  const initrd = Buffer.from(`initrd ${variant}\n`.repeat(500));
  const conf = Buffer.from(
    options.conf ??
      renderTemplate('generation/generation.conf.sh.hbs', {
        profile: 'demo',
        kernel: '/boot/vmlinuz-6.1.0-test',
        kernelRelease: '6.1.0-test',
        initrd: '/usr/lib/bootforge/initrd.img',
        params: `quiet panic=10 variant=${variant}`,
        date: '2026-11-26',
        tries: options.tries ?? 3,
      }),
  );
  const files = new Map<string, { data: Buffer; mode: number }>([
    ['/boot/vmlinuz-6.1.0-test', { data: kernel, mode: 0o644 }],
    ['/usr/lib/bootforge/initrd.img', { data: initrd, mode: 0o644 }],
    ['/usr/lib/bootforge/generation.conf', { data: conf, mode: 0o644 }],
    ['/usr/bin/passwd', { data: Buffer.from('setuid program'), mode: 0o4755 }],
    ['/etc/variant', { data: Buffer.from(`${variant}\n`), mode: 0o644 }],
  ]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const base = { uid: 0, gid: 0, mtime: 1_700_000_000 };
  const entries: TreeEntry[] = [
    ...['/', '/boot', '/etc', '/usr', '/usr/bin', '/usr/lib', '/usr/lib/bootforge'].map((path): TreeEntry => ({
      type: 'dir',
      path,
      mode: 0o755,
      ...base,
    })),
    ...[...files].map(([path, f]): TreeEntry => ({
      type: 'file',
      path,
      mode: f.mode,
      size: f.data.length,
      sha256: sha(f.data),
      ...base,
    })),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  const bySha = new Map([...files.values()].map((f) => [sha(f.data), f.data]));
  const contents = (e: { sha256: string }) => Promise.resolve(bySha.get(e.sha256) ?? Buffer.alloc(0));
  const tarBytes = async (list: readonly TreeEntry[], naming?: TarNaming) => {
    const raw: Buffer[] = [];
    for await (const c of tarOf(list, contents, new Date(base.mtime * 1000), naming)) raw.push(c);
    return Buffer.concat(raw);
  };
  const whole = await tarBytes(entries);
  const id = sha(whole).slice(0, 32);
  const name = `${id}-demo`;
  // A delta bundle as bootforge bundle --base writes one (deltaPlan over the base bundle's index).
  const plan = options.base
    ? deltaPlan(entries, await readBundleIndex(options.base.path), name, base.mtime)
    : undefined;
  const tar = plan ? await tarBytes(plan.entries, plan.naming) : whole;
  const frames: Buffer[] = [];
  for await (const f of zstdFrames(Readable.from([tar]))) frames.push(f);
  const payload = Buffer.concat(frames);
  const header = payloadHeader({
    payload_offset: 4096,
    payload_size: payload.length,
    payload_sha256: sha(payload),
    payload_uncompressed_size: tar.length,
    payload_compression: 'zstd',
    payload_format: plan ? 'tar-delta' : 'tar',
    ...(options.base ? { base: options.base.name } : {}),
    profile: 'demo',
    kernel: '6.1.0-test',
    generation: name,
  });
  const path = join(dir, `${name}${options.base ? '.delta' : ''}.bundle`);
  writeFileSync(path, Buffer.concat([header, payload]));
  return { path, headerSha256: sha(header), name, id, kernel, initrd };
}

/** A zstd-compressed tar of exactly these members, in this order (for bundles bootforge would never write). */
export async function zstdTar(
  members: readonly (Partial<Header> & { name: string; data?: string })[],
): Promise<Buffer> {
  const tar = pack();
  for (const { data, ...h } of members) tar.entry({ mode: 0o644, mtime: new Date(0), ...h }, data ?? '');
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  const frames: Buffer[] = [];
  for await (const f of zstdFrames(Readable.from([Buffer.concat(chunks)]))) frames.push(f);
  return Buffer.concat(frames);
}

/**
 * A bundle file from a header's fields and a payload, whatever they say (a hostile bundle).
 * By default the fields describe the payload truthfully, as a full bundle of generation `name`.
 */
export function craftedBundle(
  path: string,
  payload: Buffer,
  fields: Readonly<Record<string, string | number>> = {},
): { path: string; headerSha256: string } {
  const header = payloadHeader({
    payload_offset: 4096,
    payload_size: payload.length,
    payload_sha256: createHash('sha256').update(payload).digest('hex'),
    payload_uncompressed_size: 10 * payload.length,
    payload_compression: 'zstd',
    payload_format: 'tar',
    profile: 'demo',
    kernel: '6.1.0-test',
    generation: `${'e'.repeat(32)}-demo`,
    ...fields,
  });
  writeFileSync(path, Buffer.concat([header, payload]));
  return { path, headerSha256: createHash('sha256').update(header).digest('hex') };
}

/** A machine as the installer leaves it: generation 1 unpacked, linked, its entry blessed, booted. */
export function installedMachine(dir: string, gen1: TestBundle): FakeMachine {
  const m: FakeMachine = {
    dir,
    root: join(dir, 'root'),
    esp: join(dir, 'esp'),
    efivars: join(dir, 'efivars'),
    run: join(dir, 'run'),
    cmdline: join(dir, 'cmdline'),
  };
  for (const d of ['bootforge/store', 'bootforge/generations', 'bootforge/state/var', 'bootforge/state/home']) {
    mkdirSync(join(m.root, d), { recursive: true });
  }
  mkdirSync(join(m.esp, 'loader/entries'), { recursive: true });
  mkdirSync(m.efivars, { recursive: true });
  mkdirSync(m.run, { recursive: true });
  writeFileSync(
    join(m.root, 'bootforge/state/machine.conf'),
    'ROOT_UUID=0b5e9f7c-1111-4222-8333-944455556666\nESP_UUID=ABCD-0001\nSWAP_UUID=\nHARDWARE=qemu-x86_64\n',
  );
  writeFileSync(join(m.root, 'bootforge/state/home/precious'), 'user data\n');
  // Generation 1 through bootforge-gen itself, then blessed, as the installer writes it.
  const r = runGen(m, ['switch', gen1.path, '--expect', gen1.headerSha256]);
  if (r.status !== 0) throw new Error(`installing generation 1 failed: ${r.out}`);
  const entries = join(m.esp, 'loader/entries');
  for (const e of readdirSync(entries)) {
    cpSync(join(entries, e), join(entries, 'bootforge-gen-1.conf'));
    if (e !== 'bootforge-gen-1.conf') spawnSync('rm', [join(entries, e)]);
  }
  boot(m, 1);
  return m;
}

/** The machine booted generation N (the loader's variable names the entry when it counted). */
export function boot(m: FakeMachine, n: number, countedEntry?: string): void {
  writeFileSync(m.cmdline, `root=UUID=x ro bootforge.gen=${n} bootforge.generation=g quiet\n`);
  const variable = join(m.efivars, `LoaderBootCountPath-${LOADER_GUID}`);
  spawnSync('rm', ['-f', variable]);
  if (countedEntry !== undefined) {
    const text = Buffer.from(`\\loader\\entries\\${countedEntry}\0`, 'utf16le');
    writeFileSync(variable, Buffer.concat([Buffer.from([6, 0, 0, 0]), text]));
  }
}

export const GEN_SHELLS: readonly (readonly string[])[] = [['busybox', 'sh'], ['/usr/bin/dash']];

let script: string | undefined;
function genScript(dir: string): string {
  script ??= join(dir, '..', 'bootforge-gen.sh');
  if (!existsSync(script)) writeFileSync(script, renderTemplate('generation/bootforge-gen.sh.hbs', {}));
  return script;
}

export interface GenRun {
  readonly status: number | null;
  readonly out: string;
  readonly stdout: string;
}

export function runGen(
  m: FakeMachine,
  args: readonly string[],
  options: { shell?: readonly string[]; stopAt?: number; trace?: boolean } = {},
): GenRun {
  const shell = options.shell ?? GEN_SHELLS[0] ?? ['sh'];
  const r = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), genScript(m.dir), ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      BOOTFORGE_ROOT: m.root,
      BOOTFORGE_ESP: m.esp,
      BOOTFORGE_EFIVARS: m.efivars,
      BOOTFORGE_RUN: m.run,
      BOOTFORGE_CMDLINE: m.cmdline,
      ...(options.stopAt !== undefined ? { BOOTFORGE_STOP_AT: String(options.stopAt) } : {}),
      ...(options.trace ? { BOOTFORGE_TRACE: '1' } : {}),
    },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

/** Entry file names on the ESP, sorted. */
export function entries(m: FakeMachine): string[] {
  return readdirSync(join(m.esp, 'loader/entries')).sort();
}

/**
 * What systemd-boot would boot with `default bootforge-gen-*`, and whether everything it
 * needs is whole: every entry's kernel and initrd exist and equal its generation's, every
 * entry's generation is linked and complete in the store. Returns the problems found.
 */
export function bootProblems(m: FakeMachine): { next: number | undefined; problems: string[] } {
  const problems: string[] = [];
  const parsed: { gen: number; bad: boolean }[] = [];
  for (const e of entries(m)) {
    if (!e.endsWith('.conf')) continue;
    const file = join(m.esp, 'loader/entries', e);
    const text = readFileSync(file, 'utf8');
    if (text.length === 0) problems.push(`${e} is empty`);
    const match = /^bootforge-gen-(\d+)(?:\+(\d+)(?:-(\d+))?)?\.conf$/.exec(e);
    if (!match) {
      problems.push(`unexpected entry ${e}`);
      continue;
    }
    const gen = Number(match[1]);
    parsed.push({ gen, bad: match[2] === '0' });
    const name = /bootforge\.generation=(\S+)/.exec(text)?.[1];
    const link = join(m.root, 'bootforge/generations', String(gen));
    if (!existsSync(link)) problems.push(`${e}: generation ${gen} is not linked`);
    else if (readlinkSync(link) !== `../store/${name}`) problems.push(`${e}: link ${gen} -> ${readlinkSync(link)}`);
    const tree = join(m.root, 'bootforge/store', name ?? '?');
    if (!existsSync(join(tree, 'usr/lib/bootforge/generation.conf'))) problems.push(`${e}: tree ${name} incomplete`);
    for (const [key, inTree] of [
      ['linux', 'boot/vmlinuz-6.1.0-test'],
      ['initrd', 'usr/lib/bootforge/initrd.img'],
    ] as const) {
      const rel = new RegExp(`^${key} /(\\S+)$`, 'm').exec(text)?.[1];
      const onEsp = join(m.esp, rel ?? '?');
      if (!rel || !existsSync(onEsp)) problems.push(`${e}: ${key} ${rel} missing`);
      else if (existsSync(join(tree, inTree)) && !readFileSync(onEsp).equals(readFileSync(join(tree, inTree)))) {
        problems.push(`${e}: ${key} ${rel} differs from the generation's`);
      } else if (statSync(onEsp).size === 0) problems.push(`${e}: ${key} is empty`);
    }
  }
  parsed.sort((a, b) => Number(a.bad) - Number(b.bad) || b.gen - a.gen);
  return { next: parsed[0]?.gen, problems };
}
