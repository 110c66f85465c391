/**
 * The `ar` container of a .deb (deb(5), ar(5)): the magic "!<arch>\n", then
 * members, each a 60-byte text header followed by its data, padded to an even
 * offset. dpkg writes only short names (at most 15 characters, space padded),
 * so the GNU and BSD long-name schemes are refused rather than half-supported.
 */
import { BootforgeError } from '../errors/index.js';

export interface ArMember {
  readonly name: string;
  /** Offset of the member's data in the archive. */
  readonly offset: number;
  readonly size: number;
  /** A view of the member's bytes (no copy). */
  readonly data: Buffer;
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

const MAGIC = '!<arch>\n';
const HEADER_SIZE = 60;
const HEADER_END = '`\n';

/** Reads every member of an ar archive held in memory; `label` names the archive in errors. */
export function readAr(bytes: Buffer, label: string): ArMember[] {
  const bad = (why: string): BootforgeError => new BootforgeError('BF_BAD_DEB', `${label}: ${why}`);
  if (bytes.length < MAGIC.length || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw bad('not an ar archive (the "!<arch>" magic is missing)');
  }
  const members: ArMember[] = [];
  let pos = MAGIC.length;
  while (pos < bytes.length) {
    // A lone padding byte after an odd-sized last member is tolerated (some writers add it, some do not).
    if (bytes.length - pos === 1 && bytes[pos] === 0x0a) break;
    if (bytes.length - pos < HEADER_SIZE) {
      throw bad(`truncated: ${bytes.length - pos} bytes after member ${members.length} are too few for a header`);
    }
    const field = (start: number, length: number): string =>
      bytes.toString('latin1', pos + start, pos + start + length).replace(/ +$/, '');
    if (bytes.toString('latin1', pos + 58, pos + HEADER_SIZE) !== HEADER_END) {
      throw bad(`member header at offset ${pos} is corrupt (its end marker is missing)`);
    }
    const rawName = field(0, 16);
    const name = memberName(rawName, bad);
    const number = (start: number, length: number, radix: 8 | 10, what: string): number => {
      const text = field(start, length);
      if (text === '') return 0;
      if (!(radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/).test(text)) {
        throw bad(`member ${JSON.stringify(name)} has a malformed ${what} field ${JSON.stringify(text)}`);
      }
      return parseInt(text, radix);
    };
    const mtime = number(16, 12, 10, 'date');
    const uid = number(28, 6, 10, 'owner');
    const gid = number(34, 6, 10, 'group');
    const mode = number(40, 8, 8, 'mode');
    if (field(48, 10) === '') throw bad(`member ${JSON.stringify(name)} has no size`);
    const size = number(48, 10, 10, 'size');
    const offset = pos + HEADER_SIZE;
    if (offset + size > bytes.length) {
      throw bad(
        `truncated: member ${JSON.stringify(name)} needs ${size} bytes but the archive ends after ${bytes.length - offset}`,
      );
    }
    members.push({ name, offset, size, data: bytes.subarray(offset, offset + size), mtime, uid, gid, mode });
    pos = offset + size + (size % 2);
  }
  return members;
}

function memberName(raw: string, bad: (why: string) => BootforgeError): string {
  if (raw === '/' || raw === '/SYM64/') {
    throw bad('the archive has a symbol table ("/"), which dpkg never writes; this is not a .deb');
  }
  if (raw === '//' || /^\/\d+$/.test(raw)) {
    throw bad(`member name ${JSON.stringify(raw)} uses GNU ar long names, which dpkg never writes`);
  }
  if (raw.startsWith('#1/')) {
    throw bad(`member name ${JSON.stringify(raw)} uses BSD ar long names, which dpkg never writes`);
  }
  // GNU ar ends short names with "/"; dpkg accepts both forms.
  const name = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (name === '' || !/^[\x21-\x7e]+$/.test(name)) throw bad(`member name ${JSON.stringify(raw)} is not printable`);
  return name;
}
