/**
 * One /var/lib/dpkg/status stanza, written the way dpkg writes it: its known
 * fields in the order of lib/dpkg/parse.c's fieldinfos[] (with the canonical
 * spelling), then the control file's other fields in their own order.
 */

const DPKG_FIELD_ORDER = [
  'Package',
  'Essential',
  'Protected',
  'Status',
  'Priority',
  'Section',
  'Installed-Size',
  'Origin',
  'Maintainer',
  'Bugs',
  'Architecture',
  'Multi-Arch',
  'Source',
  'Version',
  'Config-Version',
  'Replaces',
  'Provides',
  'Depends',
  'Pre-Depends',
  'Recommends',
  'Suggests',
  'Breaks',
  'Conflicts',
  'Enhances',
  'Conffiles',
  'Filename',
  'Size',
  'MD5sum',
  'MSDOS-Filename',
  'Description',
  'Triggers-Pending',
  'Triggers-Awaited',
];
const KNOWN = new Map(DPKG_FIELD_ORDER.map((f) => [f.toLowerCase(), f]));
/** Boolean fields dpkg writes only when they are "yes". */
const DEFAULT_NO = new Set(['Essential', 'Protected']);

export interface StatusInput {
  /** The control file's fields; continuation lines joined with "\n" and without their leading blank. */
  readonly control: Readonly<Record<string, string>>;
  /** Conffiles as dpkg records them: path and the MD5 of the file the package ships. */
  readonly conffiles: readonly { readonly path: string; readonly md5: string }[];
}

export function statusStanza(input: StatusInput): string {
  const known = new Map<string, string>();
  const others: [string, string][] = [];
  for (const [name, value] of Object.entries(input.control)) {
    const canonical = KNOWN.get(name.toLowerCase());
    if (canonical === undefined) others.push([name, value]);
    else if (canonical !== 'Status' && canonical !== 'Conffiles') known.set(canonical, value);
  }
  known.set('Status', 'install ok installed');
  if (input.conffiles.length > 0) {
    known.set('Conffiles', ['', ...input.conffiles.map((c) => `${c.path} ${c.md5}`)].join('\n'));
  }
  const lines: string[] = [];
  for (const name of DPKG_FIELD_ORDER) {
    const value = known.get(name);
    if (value === undefined) continue;
    if (DEFAULT_NO.has(name) && value.toLowerCase() !== 'yes') continue;
    lines.push(field(name, DEFAULT_NO.has(name) ? 'yes' : value));
  }
  for (const [name, value] of others) lines.push(field(name, value));
  return `${lines.join('')}\n`;
}

function field(name: string, value: string): string {
  const [first = '', ...rest] = value.split('\n');
  const head = first === '' ? `${name}:` : `${name}: ${first}`;
  return `${[head, ...rest.map((l) => ` ${l}`)].join('\n')}\n`;
}

/** The name dpkg gives a package's files in /var/lib/dpkg/info: "libc6:amd64" for Multi-Arch: same. */
export function infoName(control: Readonly<Record<string, string>>, name: string, architecture: string): string {
  const multiArch = Object.entries(control).find(([k]) => k.toLowerCase() === 'multi-arch')?.[1];
  return multiArch?.trim() === 'same' ? `${name}:${architecture}` : name;
}
