/**
 * What dpkg and the maintainer scripts would have added to a Debian system,
 * produced without running either: the dpkg database, alternatives, enabled
 * units, accounts, /etc/shells, PAM, CA certificates and the files simple
 * postinst commands make. The postinsts are evaluated symbolically (see
 * shell/); what they do that bootforge does not reproduce is reported.
 */
import type { BlobStore } from '../../fstree/types.js';
import type { UnpackedPackage } from '../../packages/unpack.js';
import { resolveAlternatives } from './alternatives.js';
import { archivePaths } from './archive-paths.js';
import { parseGroup, parsePasswd } from './accounts.js';
import { dpkgStep } from './dpkg-step.js';
import { configureOrder } from './order.js';
import { materialise, Overlay, parentOf } from './overlay.js';
import { ScriptContext, type Template } from './scripts/context.js';
import { parseTemplates } from './scripts/debconf.js';
import { PATH_DIRS, runPostinsts } from './scripts/run.js';
import { serviceLinks } from './services.js';
import {
  accountsStep,
  caStep,
  consoleStep,
  ensureDir,
  pamStep,
  put,
  readText,
  shellsStep,
  tmpfilesStep,
  ucfStep,
  type StepNotes,
} from './steps.js';
import type { DebianConfiguration, DebianInput, ScriptAction } from './types.js';
import { unitLookups } from './unit-lookup.js';

export type {
  DebianConfiguration,
  DebianDir,
  DebianFile,
  DebianInput,
  DebianOptions,
  DebianReport,
  DebianSymlink,
  ScriptAction,
} from './types.js';

const MERGEABLE = ['bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32', 'libo32'];
const TEMP_PREFIX = '/tmp/bootforge-mktemp.';

export async function debianConfiguration(input: DebianInput): Promise<DebianConfiguration> {
  const { blobs, tree, options } = input;
  const arch = options.architecture ?? 'amd64';
  const packages = configureOrder(input.packages);
  const overlay = new Overlay(tree);

  const controlFiles = new Map<string, Map<string, Buffer>>();
  for (const p of packages) {
    const members = new Map<string, Buffer>();
    for (const [name, sha] of Object.entries(p.controlFiles))
      if (name !== 'control') members.set(name, await blobs.get(sha));
    controlFiles.set(p.name, members);
  }
  const mergedDirs = MERGEABLE.filter((d) => {
    const e = tree.get(`/${d}`);
    return e?.type === 'symlink' && e.target.replace(/^\//, '') === `usr/${d}`;
  });
  const paths = new Map<string, string[]>();
  const owners = new Map<string, string[]>();
  for (const p of packages) {
    const md5sums = controlFiles.get(p.name)?.get('md5sums')?.toString('utf8');
    const list = [...new Set(archivePaths({ entries: p.entries, mergedDirs, ...(md5sums ? { md5sums } : {}) }))];
    paths.set(p.name, list);
    list.forEach((path, i) => {
      for (const key of new Set([path, p.entries[i]?.path ?? path])) {
        const o = owners.get(key) ?? [];
        if (!o.includes(p.name)) o.push(p.name);
        owners.set(key, o);
      }
    });
  }

  const ctx = await scriptContext(overlay, blobs, packages, controlFiles, arch);
  ctx.owners = owners;
  claim(ctx, packages);
  runPostinsts(
    packages.map((p) => ({
      name: p.name,
      architecture: p.architecture,
      postinst: controlFiles.get(p.name)?.get('postinst')?.toString('utf8'),
    })),
    ctx,
  );

  const notes: StepNotes = { handled: [], unhandled: [] };
  await accountsStep(ctx, blobs, options.epochSeconds, notes);
  await shellsStep(ctx, blobs);
  await pamStep(ctx, blobs);
  await caStep(ctx, blobs, notes);
  await consoleStep(ctx, blobs, notes);
  await ucfStep(ctx, blobs);
  tmpfilesStep(ctx);

  const alternatives = resolveAlternatives(ctx.alternatives, {
    exists: (p) => overlay.resolve(p, true)?.node?.type === 'file',
    isRealFile: (p) => {
      const node = overlay.resolve(p, false)?.node;
      return node !== undefined && node.type !== 'symlink';
    },
  });
  for (const l of alternatives.links) link(overlay, l.path, l.target);
  for (const [path, text] of alternatives.adminFiles) put(overlay, path, text);
  for (const p of alternatives.problems)
    notes.unhandled.push({ package: p.package, line: 'update-alternatives --install', note: p.message });

  if (options.init === 'systemd') {
    const splitUsr = (paths.get('systemd') ?? []).some((p) => p.startsWith('/lib/systemd/system/'));
    const lookups = await unitLookups(overlay, blobs, splitUsr);
    const services = serviceLinks({
      requests: ctx.units,
      enable: options.enable,
      disable: options.disable,
      system: lookups.system,
      user: lookups.user,
      systemUnits: lookups.systemUnits,
    });
    for (const l of services.links) link(overlay, l.path, l.target);
    for (const [path, text] of services.helperState) put(overlay, path, text);
    for (const n of services.notes)
      notes.unhandled.push({ package: n.package, line: 'systemctl enable', note: n.message });
  }

  await dpkgStep(overlay, blobs, packages, controlFiles, paths, {
    nativeArchitecture: arch,
    diversions: ctx.diversions,
    statOverrides: ctx.statOverrides,
  });

  const changes = overlay.changes();
  // mktemp's files (and /tmp, when only mktemp made it) are scratch space of the scripts.
  const keep = (p: string) => !p.startsWith(TEMP_PREFIX) && !(p === '/tmp' && tree.get('/tmp') === undefined);
  const files = await Promise.all(
    changes.files
      .filter((f) => keep(f.path))
      .map(async (f) => ({
        path: f.path,
        data: await materialise(f.content, blobs),
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
      })),
  );
  return {
    remove: changes.remove.filter(keep),
    dirs: changes.dirs.filter((d) => keep(d.path)),
    files,
    symlinks: changes.symlinks.filter((s) => keep(s.path)),
    report: {
      handled: [...ctx.handled, ...notes.handled] as ScriptAction[],
      unhandled: [...ctx.unhandled, ...notes.unhandled] as ScriptAction[],
    },
  };
}

async function scriptContext(
  overlay: Overlay,
  blobs: BlobStore,
  packages: readonly UnpackedPackage[],
  controlFiles: ReadonlyMap<string, ReadonlyMap<string, Buffer>>,
  arch: string,
): Promise<ScriptContext> {
  const users = new Map<string, { uid: number; gid: number }>();
  const groups = new Map<string, number>();
  for (const u of parsePasswd(
    (await readText(overlay, blobs, '/usr/share/base-passwd/passwd.master')) ?? 'root:*:0:0:root:/root:/bin/sh\n',
  )) {
    users.set(u.name, { uid: u.uid, gid: u.gid });
  }
  for (const g of parseGroup(
    (await readText(overlay, blobs, '/usr/share/base-passwd/group.master')) ?? 'root:*:0:\n',
  )) {
    groups.set(g.name, g.gid);
  }
  const templates = new Map<string, Template>();
  for (const p of packages) {
    const text = controlFiles.get(p.name)?.get('templates')?.toString('utf8');
    if (text !== undefined) for (const t of parseTemplates(text)) templates.set(t.name, t);
  }
  return new ScriptContext(overlay, users, groups, templates, PATH_DIRS, arch);
}

/** Files bootforge writes itself after the scripts: what a script does to them is superseded, not reported. */
function claim(ctx: ScriptContext, packages: readonly UnpackedPackage[]): void {
  const has = (name: string) => packages.some((p) => p.name === name);
  const note = (what: string) => `superseded: bootforge writes ${what} itself after all scripts`;
  ctx.claims.push(
    { path: '/etc/shadow', note: note('/etc/shadow') },
    { path: '/etc/gshadow', note: note('/etc/gshadow') },
  );
  if (has('ca-certificates')) {
    ctx.claims.push(
      { path: '/etc/ca-certificates.conf', note: note('/etc/ca-certificates.conf') },
      { path: '/etc/ssl/certs/ca-certificates.crt', note: note('the CA bundle') },
    );
  }
  if (has('libpam-runtime')) {
    for (const t of ['auth', 'account', 'password', 'session', 'session-noninteractive']) {
      ctx.claims.push({ path: `/etc/pam.d/common-${t}`, note: note(`/etc/pam.d/common-${t}`) });
    }
  }
  if (has('keyboard-configuration'))
    ctx.claims.push({ path: '/etc/default/keyboard', note: note('/etc/default/keyboard') });
  if (has('console-setup'))
    ctx.claims.push({ path: '/etc/default/console-setup', note: note('/etc/default/console-setup') });
}

function link(overlay: Overlay, path: string, target: string): void {
  ensureDir(overlay, parentOf(path));
  const at = overlay.resolve(path, false);
  if (at !== undefined) overlay.set(at.path, { type: 'symlink', target });
}

export { applyDebianConfiguration } from './apply.js';
