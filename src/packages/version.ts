import { BootforgeError } from '../errors/index.js';
import type { Relation, VersionOp } from './types.js';

/** A version split as Debian policy 5.6.12 describes: `[epoch:]upstream[-revision]`. */
export interface ParsedVersion {
  readonly epoch: number;
  readonly upstream: string;
  /** "" when the version has no "-"; dpkg orders that the same as "0". */
  readonly revision: string;
}

/** Where the parts of one version string lie, filled in place so that comparing allocates nothing. */
interface Parts {
  epoch: number;
  upstreamStart: number;
  upstreamEnd: number;
  revisionStart: number;
  revisionEnd: number;
}

const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const HYPHEN = 0x2d;
const TILDE = 0x7e;
const SPACE = 0x20;
const TAB = 0x09;
// dpkg keeps the epoch in an int and refuses larger ones.
const MAX_EPOCH = 2_147_483_647;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isBlank = (c: number): boolean => c === SPACE || c === TAB;

/**
 * Splits `v` into `out` and says whether it is a version. Refuses what dpkg
 * refuses (empty, inner blanks, a bad or too large epoch, nothing after ":",
 * an empty upstream or revision) and, beyond dpkg, signs before the epoch
 * (an accident of strtol) and characters outside printable ASCII (dpkg only
 * warns, then orders them by their UTF-8 bytes). It accepts, like dpkg, an
 * upstream that does not start with a digit and odd characters such as "_".
 */
function locate(v: string, out: Parts): boolean {
  let start = 0;
  let end = v.length;
  while (start < end && isBlank(v.charCodeAt(start))) start++;
  while (end > start && isBlank(v.charCodeAt(end - 1))) end--;
  if (start === end) return false;

  let colon = -1;
  let hyphen = -1;
  for (let i = start; i < end; i++) {
    const c = v.charCodeAt(i);
    if (c <= SPACE || c > TILDE) return false;
    if (c === COLON) {
      if (colon < 0) colon = i;
    } else if (c === HYPHEN) hyphen = i;
  }

  let epoch = 0;
  let upstreamStart = start;
  // Like dpkg, the first ":" ends the epoch; later ones belong to the upstream part.
  if (colon >= 0) {
    if (colon === start || colon + 1 === end) return false;
    for (let i = start; i < colon; i++) {
      const c = v.charCodeAt(i);
      if (!isDigit(c)) return false;
      epoch = epoch * 10 + (c - ZERO);
      if (epoch > MAX_EPOCH) return false;
    }
    upstreamStart = colon + 1;
  }
  // The last "-" starts the revision, so an upstream may contain hyphens.
  // A hyphen before the colon was refused above as a non-digit in the epoch.
  const upstreamEnd = hyphen >= 0 ? hyphen : end;
  if (upstreamEnd === upstreamStart || upstreamEnd + 1 === end) return false;

  out.epoch = epoch;
  out.upstreamStart = upstreamStart;
  out.upstreamEnd = upstreamEnd;
  out.revisionStart = hyphen >= 0 ? hyphen + 1 : end;
  out.revisionEnd = end;
  return true;
}

const newParts = (): Parts => ({ epoch: 0, upstreamStart: 0, upstreamEnd: 0, revisionStart: 0, revisionEnd: 0 });
const left = newParts();
const right = newParts();
const scratch = newParts();

/** Reads a version; undefined for strings dpkg would refuse (see locate for the two places we are stricter). */
export function parseVersion(v: string): ParsedVersion | undefined {
  const parts = newParts();
  if (!locate(v, parts)) return undefined;
  return {
    epoch: parts.epoch,
    upstream: v.slice(parts.upstreamStart, parts.upstreamEnd),
    revision: v.slice(parts.revisionStart, parts.revisionEnd),
  };
}

/**
 * The weight of one character where the versions hold non-digits: "~" before
 * the end of the part, the end (and a digit, which ends a non-digit run) next,
 * then letters in ASCII order, then everything else in ASCII order.
 */
function weight(c: number): number {
  if (c === TILDE) return -1;
  if (c < 0 || isDigit(c)) return 0;
  if (isLetter(c)) return c;
  return c + 256;
}

/**
 * Orders two upstream parts or two revisions: runs of non-digits by weight(),
 * then runs of digits by value. Values are compared digit by digit after
 * skipping leading zeros, so runs of any length work without Number overflow.
 */
function compareFragment(a: string, ai: number, aEnd: number, b: string, bi: number, bEnd: number): number {
  while (ai < aEnd || bi < bEnd) {
    for (;;) {
      const ac = ai < aEnd ? a.charCodeAt(ai) : -1;
      const bc = bi < bEnd ? b.charCodeAt(bi) : -1;
      if ((ac < 0 || isDigit(ac)) && (bc < 0 || isDigit(bc))) break;
      const diff = weight(ac) - weight(bc);
      if (diff !== 0) return diff < 0 ? -1 : 1;
      // Equal weights here mean both sides hold the same non-digit, so neither is at its end.
      ai++;
      bi++;
    }
    while (ai < aEnd && a.charCodeAt(ai) === ZERO) ai++;
    while (bi < bEnd && b.charCodeAt(bi) === ZERO) bi++;
    // With equal lengths the first differing digit decides; a longer run wins whatever its digits.
    let firstDiff = 0;
    for (;;) {
      const aDigit = ai < aEnd && isDigit(a.charCodeAt(ai));
      const bDigit = bi < bEnd && isDigit(b.charCodeAt(bi));
      if (aDigit && bDigit) {
        if (firstDiff === 0) firstDiff = a.charCodeAt(ai) - b.charCodeAt(bi);
        ai++;
        bi++;
        continue;
      }
      if (aDigit) return 1;
      if (bDigit) return -1;
      break;
    }
    if (firstDiff !== 0) return firstDiff < 0 ? -1 : 1;
  }
  return 0;
}

function invalidVersion(v: string): BootforgeError {
  return new BootforgeError('BF_INVALID_VALUE', `"${v}" is not a Debian version`, {
    hint: 'a version reads [epoch:]upstream[-revision] without spaces, e.g. 1:2.36-9+deb12u4 (Debian policy 5.6.12)',
  });
}

/**
 * Orders two versions as `dpkg --compare-versions` does: -1, 0 or 1.
 * Throws BF_INVALID_VALUE for a string parseVersion refuses. Allocates
 * nothing, since resolving against a full index calls it very often.
 */
export function compareVersions(a: string, b: string): number {
  if (!locate(a, left)) throw invalidVersion(a);
  if (!locate(b, right)) throw invalidVersion(b);
  if (left.epoch !== right.epoch) return left.epoch < right.epoch ? -1 : 1;
  const upstream = compareFragment(a, left.upstreamStart, left.upstreamEnd, b, right.upstreamStart, right.upstreamEnd);
  if (upstream !== 0) return upstream;
  return compareFragment(a, left.revisionStart, left.revisionEnd, b, right.revisionStart, right.revisionEnd);
}

/** Whether `version` meets the relation `op want`, e.g. satisfies('2.36-9', '>=', '2.34'). */
export function satisfies(version: string, op: VersionOp, want: string): boolean {
  const order = compareVersions(version, want);
  switch (op) {
    case '<<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '=':
      return order === 0;
    case '>=':
      return order >= 0;
    case '>>':
      return order > 0;
  }
}

// Relation fields (Debian policy 7.1): "a (>= 1) | b:any, c [!i386] <!nocheck>".

/**
 * bootforge builds amd64 systems without build profiles, so restrictions are
 * judged for that host: amd64's Debian tuple is abi-libc-os-cpu (see
 * Dpkg::Arch), which wildcards such as linux-any or any-amd64 match part by part.
 */
const HOST_ARCH = 'amd64';
const HOST_TUPLE = ['base', 'gnu', 'linux', 'amd64'] as const;

// c_isspace in dpkg: folded fields carry newlines between the parts.
const isSpace = (c: number): boolean => c === SPACE || (c >= TAB && c <= 0x0d);
const isLowerAlnum = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x7a);
const isNameChar = (c: number): boolean => isLowerAlnum(c) || c === 0x2b || c === 0x2d || c === 0x2e;
const isArchChar = (c: number): boolean => isLowerAlnum(c) || c === HYPHEN;

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** Whether `word` is a name: a lower-case letter or digit, then `more` characters. */
function isWord(word: string, more: (c: number) => boolean): boolean {
  if (word === '' || !isLowerAlnum(word.charCodeAt(0))) return false;
  for (let i = 1; i < word.length; i++) if (!more(word.charCodeAt(i))) return false;
  return true;
}

type Fail = (why: string) => never;

function failer(field: string, alternative: string): Fail {
  return (why) => {
    const shown = field.replace(/\s+/g, ' ').trim();
    const excerpt = shown.length > 160 ? `${shown.slice(0, 160)}…` : shown;
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `cannot read "${alternative.trim()}" in the relation field "${excerpt}": ${why}`,
      {
        hint: 'relations read "name[:arch] [(op version)] [[arch ...]] [<profile ...>]", groups separated by "," and alternatives by "|" (Debian policy 7.1)',
      },
    );
  };
}

function archMatchesHost(arch: string): boolean {
  if (arch === HOST_ARCH || arch === 'any') return true;
  const parts = arch.split('-');
  // Without "any" it names one other architecture; a wildcard lacks its leading parts.
  if (!parts.includes('any') || parts.length > HOST_TUPLE.length) return false;
  const offset = HOST_TUPLE.length - parts.length;
  return parts.every((part, i) => part === 'any' || part === HOST_TUPLE[offset + i]);
}

/** `[amd64 arm64]` applies when the host is listed, `[!i386 !armel]` when it is not. */
function archListApplies(list: string, fail: Fail): boolean {
  const terms = list.split(/\s+/).filter((t) => t !== '');
  if (terms.length === 0) fail('the architecture list is empty');
  const negated = terms.filter((t) => t.startsWith('!')).length;
  // Policy 7.1 forbids mixing, and dpkg's reading of a mixed list surprises.
  if (negated !== 0 && negated !== terms.length) fail('an architecture list must negate all its names or none');
  const names = terms.map((t) => (negated ? t.slice(1) : t));
  for (const name of names) if (!isWord(name, isArchChar)) fail(`"${name}" is not an architecture name`);
  const listed = names.some(archMatchesHost);
  return negated ? !listed : listed;
}

/** `<!nocheck !cross>` applies when every term does; with no profile active only negated terms do. */
function profileGroupApplies(group: string, fail: Fail): boolean {
  const terms = group.split(/\s+/).filter((t) => t !== '');
  if (terms.length === 0) fail('a build profile list is empty');
  for (const term of terms) {
    const name = term.startsWith('!') ? term.slice(1) : term;
    if (!isWord(name, isNameChar)) fail(`"${term}" is not a build profile`);
  }
  return terms.every((t) => t.startsWith('!'));
}

/** Reads the operator at `s[i]`; returns it and where the version starts. */
function readOperator(s: string, i: number, fail: Fail): [VersionOp, number] {
  const first = s[i];
  const second = s[i + 1];
  if (first === '<' || first === '>') {
    if (second === first) return [first === '<' ? '<<' : '>>', i + 2];
    if (second === '=') return [first === '<' ? '<=' : '>=', i + 2];
    if (second === '<' || second === '>') fail(`"${first}${second}" is not an operator`);
    // The obsolete "<" and ">" meant "<=" and ">="; dpkg still reads them so.
    return [first === '<' ? '<=' : '>=', i + 1];
  }
  if (first === '=') return ['=', i + 1];
  // dpkg reads "(1.0)" as "(= 1.0)", with a warning.
  return ['=', i];
}

/** Reads one alternative; undefined when its restrictions exclude amd64. */
function readAlternative(s: string, fail: Fail): Relation | undefined {
  let i = skipSpace(s, 0);
  const nameStart = i;
  while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
  const name = s.slice(nameStart, i);
  const next = s[i];
  const endsWell =
    i === s.length || next === ':' || next === '(' || next === '[' || next === '<' || isSpace(s.charCodeAt(i));
  if (name === '' && endsWell) fail('a package name is missing');
  if (!endsWell || !isLowerAlnum(name.charCodeAt(0))) {
    fail(
      'package names are lower-case letters, digits, "+", "-" and ".", starting with a letter or digit (Debian policy 5.6.1)',
    );
  }
  const relation: { name: string; arch?: string; op?: VersionOp; version?: string } = { name };

  if (next === ':') {
    const archStart = ++i;
    while (i < s.length && isArchChar(s.charCodeAt(i))) i++;
    const arch = s.slice(archStart, i);
    if (!isWord(arch, isArchChar)) fail('an architecture name must follow ":"');
    relation.arch = arch;
  }
  i = skipSpace(s, i);

  if (s[i] === '(') {
    const [op, versionAt] = readOperator(s, skipSpace(s, i + 1), fail);
    i = skipSpace(s, versionAt);
    const versionStart = i;
    while (i < s.length && s[i] !== ')' && !isSpace(s.charCodeAt(i))) i++;
    const version = s.slice(versionStart, i);
    if (version === '') fail('the version is missing');
    // dpkg only warns here, but "(=> 1.0)" or "(== 1.0)" is a typo, not a version.
    if (!(isDigit(version.charCodeAt(0)) || isLetter(version.charCodeAt(0))) || !locate(version, scratch)) {
      fail(`"${version}" is not a Debian version`);
    }
    i = skipSpace(s, i);
    if (s[i] !== ')') fail('")" must follow the version');
    i = skipSpace(s, i + 1);
    relation.op = op;
    relation.version = version;
  }

  let applies = true;
  if (s[i] === '[') {
    const close = s.indexOf(']', i);
    if (close < 0) fail('"[" has no "]"');
    applies = archListApplies(s.slice(i + 1, close), fail);
    i = skipSpace(s, close + 1);
  }
  if (s[i] === '<') {
    let anyGroup = false;
    while (s[i] === '<') {
      const close = s.indexOf('>', i);
      if (close < 0) fail('"<" has no ">"');
      anyGroup = profileGroupApplies(s.slice(i + 1, close), fail) || anyGroup;
      i = skipSpace(s, close + 1);
    }
    applies &&= anyGroup;
  }
  if (i < s.length) fail(`"${s.slice(i)}" is not expected there`);
  return applies ? relation : undefined;
}

function isBlankField(field: string): boolean {
  return skipSpace(field, 0) === field.length;
}

/**
 * Reads Depends or Pre-Depends: groups separated by ",", each met by one of
 * its "|" alternatives. Alternatives restricted away from amd64 (or to a
 * build profile) are dropped, and so is a group left with none.
 */
export function parseRelations(field: string): Relation[][] {
  if (isBlankField(field)) return [];
  const groups: Relation[][] = [];
  for (const group of field.split(',')) {
    const alternatives: Relation[] = [];
    for (const text of group.split('|')) {
      const fail = failer(field, text);
      if (isBlankField(text)) fail(group.includes('|') ? 'an alternative is empty' : 'a group is empty');
      const relation = readAlternative(text, fail);
      if (relation) alternatives.push(relation);
    }
    if (alternatives.length > 0) groups.push(alternatives);
  }
  return groups;
}

/** Reads Provides, Conflicts or Breaks: one relation per ",", no alternatives. */
export function parseRelationList(field: string): Relation[] {
  if (isBlankField(field)) return [];
  const relations: Relation[] = [];
  for (const text of field.split(',')) {
    const fail = failer(field, text);
    if (isBlankField(text)) fail('an entry is empty');
    if (text.includes('|')) fail('this field allows no alternatives ("|")');
    const relation = readAlternative(text, fail);
    if (relation) relations.push(relation);
  }
  return relations;
}
