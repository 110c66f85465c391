/**
 * Finds unit files the way systemctl does: the first directory of its search
 * path that has the name wins, and links are written to that path. On
 * bookworm (systemd built for split /usr) /lib/systemd/system comes before
 * /usr/lib/systemd/system, so a merged-/usr system names every vendor unit
 * /lib/systemd/system/<unit>; later releases only search /usr/lib.
 */
import type { BlobStore } from '../../fstree/types.js';
import { baseName, type Overlay } from './overlay.js';
import type { FoundUnit, UnitLookup } from './units.js';

export interface UnitLookups {
  readonly system: UnitLookup;
  readonly user: UnitLookup;
  /** Every system unit name in the search path. */
  readonly systemUnits: readonly string[];
}

export function systemSearchPath(splitUsr: boolean): string[] {
  return [
    '/etc/systemd/system',
    '/usr/local/lib/systemd/system',
    ...(splitUsr ? ['/lib/systemd/system'] : []),
    '/usr/lib/systemd/system',
  ];
}

export const USER_SEARCH_PATH = ['/etc/systemd/user', '/usr/local/lib/systemd/user', '/usr/lib/systemd/user'];

export async function unitLookups(overlay: Overlay, blobs: BlobStore, splitUsr: boolean): Promise<UnitLookups> {
  const make = async (dirs: readonly string[]) => {
    const texts = new Map<string, string>();
    const names = new Set<string>();
    for (const dir of new Set(dirs.map((d) => overlay.resolve(d, true)?.path ?? d))) {
      if (overlay.node(dir)?.type !== 'dir') continue;
      for (const name of overlay.list(dir)) {
        names.add(name);
        const r = overlay.resolve(`${dir}/${name}`, true);
        if (r?.node?.type === 'file' && !texts.has(r.path)) {
          texts.set(r.path, (await overlay.read(r.path, blobs))?.toString('utf8') ?? '');
        }
      }
    }
    const lookup: UnitLookup = (name) => {
      for (const dir of dirs) {
        const path = `${dir}/${name}`;
        const r = overlay.resolve(path, false);
        if (r?.node === undefined) continue;
        if (r.node.type === 'symlink') {
          if (r.node.target === '/dev/null') return { path, text: undefined };
          const target = overlay.resolve(path, true);
          if (target?.node?.type !== 'file') continue;
          const found: FoundUnit = { path, text: texts.get(target.path) };
          const real = baseName(target.path);
          return real !== name ? { ...found, aliasOf: real } : found;
        }
        if (r.node.type === 'file') return { path, text: texts.get(r.path) };
      }
      return undefined;
    };
    return { lookup, names: [...names].sort() };
  };
  const system = await make(systemSearchPath(splitUsr));
  const user = await make(USER_SEARCH_PATH);
  return { system: system.lookup, user: user.lookup, systemUnits: system.names };
}
