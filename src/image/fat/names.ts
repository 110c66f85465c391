/**
 * Names on a FAT volume: which long names FAT can store, their case-insensitive
 * form, and the short (8.3) name each one gets by fatgen103's "Basis-Name
 * Generation Algorithm" and "Numeric-Tail Generation Algorithm".
 *
 * Choice: a name that is not already a valid upper-case 8.3 name always gets VFAT
 * long-name entries, also when it differs from its short name only in case
 * (`readme.txt` -> `README.TXT` + a long name). The Windows NT lower-case flags
 * (byte 12) would save those entries, but not every reader honours them, and
 * long names every VFAT reader (Linux, mtools, EDK2, Windows) understands.
 * Short names use ASCII only: a character outside it becomes "_" (the spec's
 * "lossy conversion"), so no OEM code page is assumed.
 */

import { BootforgeError } from '../../errors/index.js';

/** Longest long name: 255 UTF-16 code units (20 long-name entries of 13). */
export const MAX_NAME_UNITS = 255;

// Characters a long name may not hold (fatgen103, "FAT Long Directory Entries"; also DEL).
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f"*/:<>?\\|]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Characters valid in a short name besides A-Z and 0-9 (fatgen103, "FAT 32 Byte Directory Entry Structure").
const SHORT_SPECIAL = "!#$%&'()-@^_`{}~";
const SHORT_CHAR = `[A-Z0-9${SHORT_SPECIAL.replace(/[-\\^\]]/g, '\\$&')}]`;
const EXACT_83 = new RegExp(`^${SHORT_CHAR}{1,8}(?:\\.${SHORT_CHAR}{1,3})?$`);
const ASCII = /^[\x20-\x7e]*$/;
const LABEL = new RegExp(`^${SHORT_CHAR}(?:${SHORT_CHAR}| ){0,10}$`);

/** True when `label` can be a volume label: up to 11 short-name characters or spaces, not starting with a space. */
export function isLabel(label: string): boolean {
  return LABEL.test(label);
}

/** Why `name` cannot be a FAT long name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name === '.' || name === '..') return `the name "${name}" is reserved for directory links`;
  if (name.length > MAX_NAME_UNITS)
    return `the name is ${name.length} UTF-16 code units long, FAT allows ${MAX_NAME_UNITS}`;
  const bad = FORBIDDEN.exec(name);
  if (bad) {
    const ch = bad[0];
    const shown =
      ch < ' ' || ch === '\u007f' ? `control character U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : `"${ch}"`;
    return `the name contains ${shown}, which FAT cannot store`;
  }
  if (LONE_SURROGATE.test(name)) return 'the name is not valid Unicode (a lone UTF-16 surrogate)';
  if (/[ .]$/.test(name))
    return 'the name ends in a space or a dot, which Windows and Linux strip when they look names up';
  return undefined;
}

/** The form two names share when FAT considers them the same (it compares without case). */
export function foldName(name: string): string {
  if (ASCII.test(name)) return name.toUpperCase();
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    // Keep characters whose upper case is longer (ß -> SS): FAT's up-case table maps one unit to one.
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/**
 * `name` in upper case when that is a valid 8.3 name with no lossy conversion (its
 * short name needs no numeric tail), else undefined. Only ASCII names qualify:
 * toUpperCase maps a few other letters into ASCII (ı -> I), which the spec's OEM
 * conversion would not.
 */
export function upperCase83(name: string): string | undefined {
  if (!ASCII.test(name)) return undefined;
  const upper = name.toUpperCase();
  return EXACT_83.test(upper) ? upper : undefined;
}

export interface BasisName {
  /** Up to 8 characters. */
  readonly primary: string;
  /** Up to 3 characters, '' for none. */
  readonly ext: string;
}

function oemChar(ch: string): string {
  if (/^[a-z]$/.test(ch)) return ch.toUpperCase();
  if (/^[A-Z0-9]$/.test(ch) || SHORT_SPECIAL.includes(ch)) return ch;
  return '_'; // lossy: not valid in a short name, or outside ASCII
}

/** fatgen103's basis name: upper case, invalid characters as "_", spaces and leading dots stripped, 8 + 3 characters. */
export function basisName(name: string): BasisName {
  // Steps 1-3: upper-case, map to the OEM set, strip all spaces. Code points, so a surrogate pair gives one "_".
  const chars = Array.from(name)
    .filter((c) => c !== ' ')
    .map((c) => (c === '.' ? '.' : oemChar(c)));
  // Step 4: strip leading periods.
  while (chars[0] === '.') chars.shift();
  const s = chars.join('');
  // Step 5: the primary part is what precedes the first period, at most 8 characters.
  const firstDot = s.indexOf('.');
  const primary = (firstDot < 0 ? s : s.slice(0, firstDot)).slice(0, 8);
  // Steps 6-7: the extension is up to 3 characters after the last period.
  const lastDot = s.lastIndexOf('.');
  const ext = lastDot < 0 ? '' : s.slice(lastDot + 1).slice(0, 3);
  return { primary, ext };
}

/** The 11 characters of a short name's directory entry: primary and extension, each padded with spaces. */
export function shortName11(primary: string, ext: string): string {
  return primary.padEnd(8, ' ') + ext.padEnd(3, ' ');
}

/** The short name as people write it: `README.TXT`, `EFI` (from the 11 characters or bytes of its entry). */
export function formatShortName(entry: string | Uint8Array): string {
  const text = typeof entry === 'string' ? entry : Buffer.from(entry.subarray(0, 11)).toString('latin1');
  const base = text.slice(0, 8).trimEnd();
  const ext = text.slice(8, 11).trimEnd();
  return ext === '' ? base : `${base}.${ext}`;
}

export interface ShortName {
  /** The 11 characters of the directory entry (ASCII): `README  TXT`. */
  readonly name11: string;
  /** Whether long-name entries must precede the short entry. */
  readonly lfn: boolean;
}

/**
 * Short names for the names of one directory (already checked to be distinct
 * without case), in the order given. Names that fit 8.3 take their upper-case form
 * first, so a literal `LONGFI~1.TXT` keeps its name; the others, in order, get the
 * basis name with the smallest numeric tail "~n" (n = 1 .. 999999, the primary part
 * shortened to make room: `LONGFI~1`, ..., `LONGFI~9`, `LONGF~10`, ...) that no other
 * entry of the directory has. Windows switches to a hash-based basis after ~4; the
 * spec's plain numeric tail used here is as valid and depends on nothing but the names.
 */
export function assignShortNames(names: readonly string[]): ShortName[] {
  const taken = new Set<string>();
  const result: (ShortName | undefined)[] = names.map((name) => {
    const upper = upperCase83(name);
    if (upper === undefined) return undefined;
    const dot = upper.indexOf('.');
    const name11 = dot < 0 ? shortName11(upper, '') : shortName11(upper.slice(0, dot), upper.slice(dot + 1));
    taken.add(name11);
    return { name11, lfn: upper !== name };
  });
  // Where to resume the tail search per basis: every smaller tail of that basis is taken already.
  const nextTail = new Map<string, number>();
  return names.map((name, i) => {
    const done = result[i];
    if (done) return done;
    const { primary, ext } = basisName(name);
    const key = `${primary}.${ext}`;
    for (let n = nextTail.get(key) ?? 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const name11 = shortName11(primary.slice(0, 8 - tail.length) + tail, ext);
      if (taken.has(name11)) continue;
      taken.add(name11);
      nextTail.set(key, n + 1);
      return { name11, lfn: true };
    }
    // A directory holds at most 65536 entries, far fewer than the tails available.
    throw new BootforgeError('BF_INTERNAL', `no numeric tail left for "${name}"`);
  });
}

/**
 * The checksum that ties long-name entries to their short entry (fatgen103,
 * "ChkSum"): over the 11 name bytes, rotate the sum right by one bit and add the byte.
 */
export function lfnChecksum(shortName: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + (shortName[i] ?? 0x20)) & 0xff;
  return sum;
}
