import type { PackageRecord } from './types.js';
import { parseVersion } from './version.js';

const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

// Fields kept from each stanza; everything else (Description above all) is skipped unread.
const KEPT: Record<string, keyof Mutable> = {
  Package: 'name',
  Version: 'version',
  Architecture: 'architecture',
  Depends: 'depends',
  'Pre-Depends': 'preDepends',
  Provides: 'provides',
  Conflicts: 'conflicts',
  Breaks: 'breaks',
  Essential: 'essential',
  Priority: 'priority',
  'Multi-Arch': 'multiArch',
  Section: 'section',
  Source: 'source',
  'Installed-Size': 'installedSize',
  Filename: 'filename',
  Size: 'size',
  SHA256: 'sha256',
};
type Mutable = { -readonly [K in keyof PackageRecord]: string };

type Origin = { suite: string; component: string; uri: string };

/**
 * Parses a Packages index as its decompressed bytes arrive. Works on Buffers
 * and decodes only the kept fields (as latin1: they are ASCII), so the 50 MB
 * bookworm index is never held whole, nor turned into a 100 MB UTF-16 string.
 */
export class PackagesParser {
  readonly records: PackageRecord[] = [];
  /** Bytes seen, to check against the size the Release gives for the uncompressed index. */
  bytes = 0;
  private stanza: Partial<Mutable> = {};
  private lastKey: keyof Mutable | undefined;
  /** The start of a line still waiting for its newline, in the pieces it came in (joined once, when it ends). */
  private carry: Buffer[] = [];

  constructor(private readonly origin: Origin) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      // Joining the carry to each chunk would copy a long line once per chunk: quadratic.
      this.carry.push(Buffer.from(chunk));
      return;
    }
    const data = Buffer.concat([...this.carry, chunk]);
    const end = data.length - (chunk.length - lastNewline - 1);
    this.lines(data, end);
    this.carry = end < data.length ? [Buffer.from(data.subarray(end))] : [];
  }

  end(): PackageRecord[] {
    if (this.carry.length > 0) {
      const rest = Buffer.concat([...this.carry, Buffer.from('\n')]);
      this.lines(rest, rest.length);
    }
    this.carry = [];
    this.finish();
    return this.records;
  }

  private lines(data: Buffer, limit: number): void {
    let pos = 0;
    while (pos < limit) {
      let end = data.indexOf(NEWLINE, pos);
      if (end < 0 || end > limit) end = limit;
      const first = data[pos];
      if (end === pos) {
        this.finish();
      } else if (first === SPACE || first === TAB) {
        if (this.lastKey !== undefined) {
          this.stanza[this.lastKey] =
            `${this.stanza[this.lastKey] ?? ''} ${data.toString('latin1', pos + 1, end).trim()}`;
        }
      } else {
        const colon = data.indexOf(COLON, pos);
        this.lastKey = undefined;
        if (colon > pos && colon < end) {
          const key = KEPT[data.toString('latin1', pos, colon)];
          if (key !== undefined) {
            this.stanza[key] = data.toString('latin1', colon + 1, end).trim();
            this.lastKey = key;
          }
        }
      }
      pos = end + 1;
    }
  }

  /** Stanzas skipped because a mandatory field was missing or the version unreadable. */
  skipped = 0;

  private finish(): void {
    const s = this.stanza;
    if (s.name !== undefined && s.version !== undefined && s.filename !== undefined && s.sha256 !== undefined) {
      // One malformed stanza must not take the whole index down (the resolver sorts by version).
      if (parseVersion(s.version) !== undefined && /^[0-9a-f]{64}$/.test(s.sha256))
        this.records.push(toRecord(s, this.origin));
      else this.skipped++;
    } else if (Object.keys(s).length > 0) {
      this.skipped++;
    }
    this.stanza = {};
    this.lastKey = undefined;
  }
}

function toRecord(s: Partial<Mutable>, origin: Origin): PackageRecord {
  const opt = <K extends keyof Mutable>(k: K) => (s[k] !== undefined && s[k] !== '' ? { [k]: s[k] } : {});
  return {
    name: s.name ?? '',
    version: s.version ?? '',
    architecture: s.architecture ?? 'all',
    ...opt('depends'),
    ...opt('preDepends'),
    ...opt('provides'),
    ...opt('conflicts'),
    ...opt('breaks'),
    essential: (s.essential ?? '').toLowerCase() === 'yes',
    ...opt('priority'),
    ...opt('multiArch'),
    ...opt('section'),
    ...opt('source'),
    ...(s.installedSize !== undefined ? { installedSize: Number(s.installedSize) } : {}),
    filename: s.filename ?? '',
    size: Number(s.size ?? 0),
    sha256: s.sha256 ?? '',
    suite: origin.suite,
    component: origin.component,
    uri: origin.uri,
  };
}
