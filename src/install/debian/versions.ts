/** `dpkg --compare-versions` for maintainer scripts, where $2 (the old version) is empty on a first install. */

/** Debian version ordering (deb-version(7)): epoch, upstream, revision; "~" sorts before everything. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  if (pa.epoch !== pb.epoch) return pa.epoch - pb.epoch;
  return compareFragment(pa.upstream, pb.upstream) || compareFragment(pa.revision, pb.revision);
}

function parts(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash < 0
    ? { epoch, upstream: rest, revision: '' }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

function order(c: string): number {
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/\d/.test(a[i] ?? '')) || (j < b.length && !/\d/.test(b[j] ?? ''))) {
      const ca = i < a.length && !/\d/.test(a[i] ?? '') ? order(a[i] ?? '') : 0;
      const cb = j < b.length && !/\d/.test(b[j] ?? '') ? order(b[j] ?? '') : 0;
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (/\d/.test(a[i] ?? '') && /\d/.test(b[j] ?? '')) {
      if (diff === 0) diff = (a.charCodeAt(i) || 0) - (b.charCodeAt(j) || 0);
      i++;
      j++;
    }
    if (/\d/.test(a[i] ?? '')) return 1;
    if (/\d/.test(b[j] ?? '')) return -1;
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * The relation as dpkg evaluates it. An empty version is earlier than any
 * other for lt, le, eq, ne, ge, gt (and their symbol forms); the "-nl" forms
 * treat it as later than any.
 */
export function versionRelation(a: string, op: string, b: string): boolean | undefined {
  const nl = op.endsWith('-nl');
  const base = nl ? op.slice(0, -3) : op;
  let c: number;
  const low = nl ? 1 : -1;
  if (a === '' && b === '') c = 0;
  else if (a === '') c = low;
  else if (b === '') c = -low;
  else c = compareVersions(a, b);
  switch (base) {
    case 'lt':
    case '<<':
      return c < 0;
    case 'le':
    case '<=':
    case '<':
      return c <= 0;
    case 'eq':
    case '=':
      return c === 0;
    case 'ne':
      return c !== 0;
    case 'ge':
    case '>=':
    case '>':
      return c >= 0;
    case 'gt':
    case '>>':
      return c > 0;
    default:
      return undefined;
  }
}
