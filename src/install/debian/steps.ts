/**
 * What bootforge writes once, after every maintainer script ran: accounts
 * (passwd, group, shadow, gshadow, the sysusers.d file), /etc/shells,
 * /etc/pam.d/common-*, the CA bundle, the console defaults and ucf's
 * registry. Each reads the overlay (the tree as the scripts left it) and
 * writes back into it.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../../fstree/types.js';
import {
  parseGroup,
  parsePasswd,
  SHADOW_GID,
  shadowFiles,
  sysusersDeclared,
  sysusersFor,
  SYSUSERS_FILE,
} from './accounts.js';
import { BUNDLE, caCertificates, CERTS_DIR } from './ca-certificates.js';
import { parentOf, type Overlay } from './overlay.js';
import { pamAuthUpdate } from './pam-auth-update.js';
import type { ScriptContext } from './scripts/context.js';
import { TMPFILES_CONF } from './scripts/fs-commands.js';
import { updateShells } from './shells.js';

export interface StepNotes {
  readonly handled: { package: string; line: string; note: string }[];
  readonly unhandled: { package: string; line: string; note: string }[];
}

/** Writes a file into the overlay, making missing parent directories (0755 root). */
export function put(overlay: Overlay, path: string, data: string | Buffer, mode = 0o644, uid = 0, gid = 0): void {
  ensureDir(overlay, parentOf(path));
  const r = overlay.resolve(path, true);
  overlay.set(r?.path ?? path, {
    type: 'file',
    mode,
    uid,
    gid,
    content: { kind: 'data', data: Buffer.isBuffer(data) ? data : Buffer.from(data) },
  });
}

export function ensureDir(overlay: Overlay, dir: string): void {
  const r = overlay.resolve(dir, true);
  if (r?.node?.type === 'dir') return;
  if (dir !== '/') ensureDir(overlay, parentOf(dir));
  overlay.set(overlay.resolve(dir, true)?.path ?? dir, { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
}

export async function readText(overlay: Overlay, blobs: BlobStore, path: string): Promise<string | undefined> {
  return (await overlay.read(path, blobs))?.toString('utf8');
}

/** Every file below a directory (recursively, through symlinked files), as relative paths. */
export function walk(overlay: Overlay, dir: string): string[] {
  const root = overlay.resolve(dir, true);
  if (root?.node?.type !== 'dir') return [];
  const out: string[] = [];
  const visit = (abs: string, rel: string) => {
    for (const name of overlay.list(abs)) {
      const node = overlay.resolve(`${abs}/${name}`, true)?.node;
      const r = rel === '' ? name : `${rel}/${name}`;
      if (node?.type === 'dir') visit(`${abs}/${name}`, r);
      else if (node?.type === 'file') out.push(r);
    }
  };
  visit(root.path, '');
  return out;
}

export async function accountsStep(ctx: ScriptContext, blobs: BlobStore, epochSeconds: number, notes: StepNotes) {
  const overlay = ctx.overlay;
  const passwdText =
    (await readText(overlay, blobs, '/etc/passwd')) ??
    (await readText(overlay, blobs, '/usr/share/base-passwd/passwd.master'));
  const groupText =
    (await readText(overlay, blobs, '/etc/group')) ??
    (await readText(overlay, blobs, '/usr/share/base-passwd/group.master'));
  if (passwdText !== undefined && groupText !== undefined) {
    const files = shadowFiles(parsePasswd(passwdText), parseGroup(groupText), epochSeconds);
    put(overlay, '/etc/passwd', files.passwd);
    put(overlay, '/etc/group', files.group);
    put(overlay, '/etc/shadow', files.shadow, 0o640, 0, SHADOW_GID);
    put(overlay, '/etc/gshadow', files.gshadow, 0o640, 0, SHADOW_GID);
  }
  const declared = { users: new Set<string>(), groups: new Set<string>() };
  for (const name of overlay.list('/usr/lib/sysusers.d')) {
    if (!name.endsWith('.conf')) continue;
    const d = sysusersDeclared((await readText(overlay, blobs, `/usr/lib/sysusers.d/${name}`)) ?? '');
    for (const u of d.users) declared.users.add(u);
    for (const g of d.groups) declared.groups.add(g);
  }
  const result = sysusersFor(ctx.accounts, ctx.memberships, declared);
  for (const name of result.covered) {
    const r = ctx.accounts.find((a) => a.name === name);
    notes.handled.push({
      package: r?.package ?? '',
      line: r?.line ?? name,
      note: `${name} is declared by a sysusers.d file of the packages already`,
    });
  }
  if (result.text !== undefined) put(overlay, SYSUSERS_FILE, result.text);
}

export async function shellsStep(ctx: ScriptContext, blobs: BlobStore): Promise<void> {
  if (!ctx.steps.has('update-shells') && ctx.shells.length === 0) return;
  const overlay = ctx.overlay;
  const dir = '/usr/share/debianutils/shells.d';
  const packaged: string[] = [];
  for (const name of overlay.list(overlay.resolve(dir, true)?.path ?? dir)) {
    packaged.push((await readText(overlay, blobs, `${dir}/${name}`)) ?? '');
  }
  const result = updateShells({
    current: await readText(overlay, blobs, '/etc/shells'),
    template: await readText(overlay, blobs, '/usr/share/debianutils/shells'),
    packaged: ctx.steps.has('update-shells') ? packaged : [],
    realDir: (d) => overlay.resolve(d, true)?.path ?? d,
    added: ctx.shells.map((s) => s.shell),
  });
  put(overlay, '/etc/shells', result.shells);
  if (ctx.steps.has('update-shells')) put(overlay, '/var/lib/shells.state', result.state);
}

export async function pamStep(ctx: ScriptContext, blobs: BlobStore): Promise<void> {
  if (!ctx.steps.has('pam-auth-update')) return;
  const overlay = ctx.overlay;
  const profiles = new Map<string, string>();
  for (const name of overlay.list('/usr/share/pam-configs')) {
    profiles.set(name, (await readText(overlay, blobs, `/usr/share/pam-configs/${name}`)) ?? '');
  }
  const templates = new Map<string, string>();
  for (const type of ['auth', 'account', 'password', 'session', 'session-noninteractive']) {
    const t = await readText(overlay, blobs, `/usr/share/pam/common-${type}`);
    if (t !== undefined) templates.set(type, t);
  }
  for (const [path, text] of pamAuthUpdate({ profiles, templates }).files) put(overlay, path, text);
}

export async function caStep(ctx: ScriptContext, blobs: BlobStore, notes: StepNotes): Promise<void> {
  const pkg = ctx.steps.get('update-ca-certificates');
  if (pkg === undefined) return;
  const overlay = ctx.overlay;
  const certificates = new Map<string, Buffer>();
  for (const rel of walk(overlay, CERTS_DIR)) {
    if (rel.endsWith('.crt'))
      certificates.set(rel, (await overlay.read(`${CERTS_DIR}/${rel}`, blobs)) ?? Buffer.alloc(0));
  }
  const out = caCertificates({ certificates });
  put(overlay, '/etc/ca-certificates.conf', out.conf);
  put(overlay, BUNDLE, out.bundle);
  for (const l of out.links) {
    const at = overlay.resolve(l.path, false);
    if (at !== undefined) overlay.set(at.path, { type: 'symlink', target: l.target });
  }
  notes.handled.push({
    package: pkg,
    line: 'update-ca-certificates',
    note: `${out.links.length} certificates in ${BUNDLE}, with their .pem links`,
  });
  notes.unhandled.push({
    package: pkg,
    line: 'openssl rehash /etc/ssl/certs',
    note: `not reproduced: the subject-hash links (<hash>.0) in /etc/ssl/certs; programs that use ${BUNDLE} (most, as OpenSSL's and GnuTLS's default file) are not affected, lookups by hash in /etc/ssl/certs (CApath) find nothing`,
  });
  if (walk(overlay, '/etc/ca-certificates/update.d').length > 0) {
    notes.unhandled.push({
      package: pkg,
      line: 'run-parts /etc/ca-certificates/update.d',
      note: 'not reproduced: update hooks of other packages (Java keystores, ...)',
    });
  }
}

/** Debian's defaults for the console (the postinsts' debconf answers at their defaults): setupcon needs both files. */
export async function consoleStep(ctx: ScriptContext, blobs: BlobStore, notes: StepNotes): Promise<void> {
  const overlay = ctx.overlay;
  const keyboard = await readText(overlay, blobs, '/usr/share/console-setup/keyboard');
  if (keyboard !== undefined && overlay.resolve('/etc/default/keyboard', true)?.node === undefined) {
    // The postinst's sed writes every value quoted: XKBMODEL="pc105", XKBVARIANT="".
    put(overlay, '/etc/default/keyboard', setValues(keyboard, {}, true));
    notes.handled.push({
      package: 'keyboard-configuration',
      line: '/etc/default/keyboard',
      note: "written from /usr/share/console-setup/keyboard (Debian's default answers); the profile's keymap replaces it",
    });
  }
  const console = await readText(overlay, blobs, '/usr/share/console-setup/console-setup');
  if (console !== undefined && overlay.resolve('/etc/default/console-setup', true)?.node === undefined) {
    const text = setValues(
      console,
      { ACTIVE_CONSOLES: '/dev/tty[1-6]', CHARMAP: 'UTF-8', CODESET: 'guess', FONTFACE: 'Fixed', FONTSIZE: '8x16' },
      false,
    );
    put(overlay, '/etc/default/console-setup', text);
    notes.handled.push({
      package: 'console-setup',
      line: '/etc/default/console-setup',
      note: "written from /usr/share/console-setup/console-setup with Debian's default answers (UTF-8, Fixed 8x16 on tty1-6)",
    });
  }
}

/** KEY=value lines of a shell-style config file, set to `values` (quoted); with `quoteAll` every value quoted. */
function setValues(text: string, values: Readonly<Record<string, string>>, quoteAll: boolean): string {
  return text.replace(/^([A-Z_]+)=(.*)$/gm, (line, key: string, value: string) => {
    const set = values[key];
    if (set !== undefined) return `${key}="${set}"`;
    return quoteAll ? `${key}="${value.replace(/^"(.*)"$/, '$1')}"` : line;
  });
}

/** `z` lines for the owners scripts give in /etc and /var to accounts that exist only from boot on. */
export function tmpfilesStep(ctx: ScriptContext): void {
  if (ctx.bootOwnership.size === 0) return;
  const lines = [...ctx.bootOwnership].map(
    ([path, o]) =>
      `z ${path} ${o.mode === undefined ? '-' : o.mode.toString(8).padStart(4, '0')} ${o.user ?? '-'} ${o.group ?? '-'} -`,
  );
  put(
    ctx.overlay,
    TMPFILES_CONF,
    `# Owners that maintainer scripts give to accounts systemd-sysusers creates at boot.\n# Written by bootforge, which runs no maintainer scripts.\n${lines.join('\n')}\n`,
  );
}

export async function ucfStep(ctx: ScriptContext, blobs: BlobStore): Promise<void> {
  if (ctx.ucf.length === 0) return;
  const overlay = ctx.overlay;
  const hashes: string[] = [];
  const registry: string[] = [];
  for (const u of ctx.ucf) {
    const data = await overlay.read(u.path, blobs);
    if (data !== undefined) hashes.push(`${createHash('md5').update(data).digest('hex')}  ${u.path}\n`);
    registry.push(`${u.package} \t ${u.path}\n`);
  }
  put(overlay, '/var/lib/ucf/hashfile', hashes.join(''));
  put(overlay, '/var/lib/ucf/registry', registry.join(''));
}
