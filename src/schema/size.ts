/**
 * Sizes as people write them. Binary units (KiB, MiB, GiB, TiB) and the bare
 * letters K, M, G, T mean powers of 1024, as sfdisk and parted read them;
 * KB, MB, GB, TB are powers of 1000, as disk vendors print them.
 */
const UNITS: ReadonlyMap<string, number> = new Map([
  ['B', 1],
  ['K', 1024],
  ['KiB', 1024],
  ['KB', 1000],
  ['M', 1024 ** 2],
  ['MiB', 1024 ** 2],
  ['MB', 1000 ** 2],
  ['G', 1024 ** 3],
  ['GiB', 1024 ** 3],
  ['GB', 1000 ** 3],
  ['T', 1024 ** 4],
  ['TiB', 1024 ** 4],
  ['TB', 1000 ** 4],
]);

export const SIZE_PATTERN = '^(0|[0-9]+(\\.[0-9]+)?\\s*(B|K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB))$';

/** Bytes for a size string, or undefined when it cannot be read. */
export function parseSize(text: string | number): number | undefined {
  if (text === 0 || text === '0') return 0;
  if (typeof text === 'number') return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = UNITS.get(m[2] ?? '');
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : undefined;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}
