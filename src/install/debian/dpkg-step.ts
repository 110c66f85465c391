/** Gathers what /var/lib/dpkg needs from the packages (paths, control files, conffile hashes) and writes it. */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../../fstree/types.js';
import type { UnpackedPackage } from '../../packages/unpack.js';
import { dpkgDatabase, type Diversion, type DpkgPackage, type StatOverride } from './dpkg-database.js';
import type { Overlay } from './overlay.js';
import { put } from './steps.js';

export async function dpkgStep(
  overlay: Overlay,
  blobs: BlobStore,
  packages: readonly UnpackedPackage[],
  controlFiles: ReadonlyMap<string, ReadonlyMap<string, Buffer>>,
  paths: ReadonlyMap<string, readonly string[]>,
  state: { nativeArchitecture: string; diversions: readonly Diversion[]; statOverrides: readonly StatOverride[] },
): Promise<void> {
  const db: DpkgPackage[] = [];
  for (const p of packages) {
    const members = controlFiles.get(p.name) ?? new Map<string, Buffer>();
    db.push({
      name: p.name,
      architecture: p.architecture,
      control: p.control,
      controlFiles: members,
      paths: paths.get(p.name) ?? ['/.'],
      conffiles: await conffiles(p, members.get('conffiles')?.toString('utf8') ?? '', blobs),
    });
  }
  for (const f of dpkgDatabase(db, state)) put(overlay, f.path, f.data, f.mode);
}

/** Each conffile with the MD5 of the file as this package ships it. */
async function conffiles(p: UnpackedPackage, text: string, blobs: BlobStore): Promise<{ path: string; md5: string }[]> {
  const out: { path: string; md5: string }[] = [];
  for (const line of text.split('\n')) {
    const path = line.trim().split(/\s+/).pop() ?? '';
    if (!path.startsWith('/')) continue;
    const entry = p.entries.find((e) => e.path === path);
    // dpkg writes "newconffile" for a conffile it has no hash for yet; here every conffile was unpacked.
    const md5 =
      entry?.type === 'file'
        ? createHash('md5')
            .update(await blobs.get(entry.sha256))
            .digest('hex')
        : 'newconffile';
    out.push({ path, md5 });
  }
  return out;
}
