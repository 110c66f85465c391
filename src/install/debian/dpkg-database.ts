/**
 * /var/lib/dpkg as dpkg leaves it after installing every package: status,
 * info/<pkg>.{list,md5sums,conffiles,...}, info/format, triggers, diversions,
 * statoverride, arch and an empty available.
 */
import { infoName, statusStanza } from './dpkg-status.js';

export interface DpkgPackage {
  readonly name: string;
  readonly architecture: string;
  readonly control: Readonly<Record<string, string>>;
  /** control.tar members other than "control", by name. */
  readonly controlFiles: ReadonlyMap<string, Buffer>;
  /** Every path the package ships, as dpkg lists them ("/." first). */
  readonly paths: readonly string[];
  readonly conffiles: readonly { readonly path: string; readonly md5: string }[];
}

export interface Diversion {
  readonly path: string;
  readonly divertTo: string;
  /** The diverting package; ":" is dpkg's name for a local diversion. */
  readonly package: string;
}

export interface StatOverride {
  readonly user: string;
  readonly group: string;
  readonly mode: number;
  readonly path: string;
}

export interface DbFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
}

const ADMIN = '/var/lib/dpkg';
const SCRIPTS = new Set(['preinst', 'postinst', 'prerm', 'postrm', 'config']);

export function dpkgDatabase(
  packages: readonly DpkgPackage[],
  state: {
    readonly nativeArchitecture: string;
    readonly diversions: readonly Diversion[];
    readonly statOverrides: readonly StatOverride[];
  },
): DbFile[] {
  const files: DbFile[] = [];
  const add = (path: string, data: string | Buffer, mode = 0o644) =>
    files.push({ path: `${ADMIN}/${path}`, data: Buffer.isBuffer(data) ? data : Buffer.from(data), mode });

  const sorted = [...packages].sort((a, b) => compareBytes(a.name, b.name));
  add('status', sorted.map((p) => statusStanza({ control: p.control, conffiles: p.conffiles })).join(''));
  add('available', '');
  add('arch', `${state.nativeArchitecture}\n`);
  add('info/format', '1\n');
  add('diversions', state.diversions.map((d) => `${d.path}\n${d.divertTo}\n${d.package}\n`).join(''));
  add(
    'statoverride',
    state.statOverrides.map((s) => `${s.user} ${s.group} ${s.mode.toString(8)} ${s.path}\n`).join(''),
  );

  const fileTriggers: string[] = [];
  const explicitTriggers = new Map<string, string[]>();
  for (const p of packages) {
    const base = infoName(p.control, p.name, p.architecture === 'all' ? state.nativeArchitecture : p.architecture);
    add(`info/${base}.list`, p.paths.map((path) => `${path}\n`).join(''));
    for (const [member, data] of [...p.controlFiles].sort(([a], [b]) => compareBytes(a, b))) {
      add(`info/${base}.${member}`, data, SCRIPTS.has(member) ? 0o755 : 0o644);
    }
    for (const t of interests(p.controlFiles.get('triggers')?.toString('utf8') ?? '')) {
      const who = `${base}${t.noawait ? '/noawait' : ''}`;
      if (t.name.startsWith('/')) fileTriggers.push(`${t.name} ${who}\n`);
      else {
        const list = explicitTriggers.get(t.name) ?? [];
        list.push(`${who}\n`);
        explicitTriggers.set(t.name, list);
      }
    }
  }
  add('triggers/File', fileTriggers.join(''));
  add('triggers/Unincorp', '');
  for (const [name, lines] of explicitTriggers) add(`triggers/${name}`, lines.join(''));
  return files;
}

/** The interest lines of a triggers control file. */
function interests(text: string): { name: string; noawait: boolean }[] {
  const out: { name: string; noawait: boolean }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^interest(-await|-noawait)?\s+(\S+)$/.exec(line);
    if (m?.[2] !== undefined) out.push({ name: m[2], noawait: m[1] === '-noawait' });
  }
  return out;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
