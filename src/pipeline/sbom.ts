/**
 * The build's software bill of materials: CycloneDX 1.5 JSON
 * (https://cyclonedx.org/docs/1.5/json/), one component per Debian package of the
 * lock's closures. Same inputs, same bytes: the timestamp is the build's epoch and
 * the serial number is derived from the content.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { TreeEntry } from '../fstree/types.js';
import { guidFromHash } from '../image/guid.js';
import { declaredLicenses, type DeclaredLicense } from '../packages/copyright.js';
import { PackageStore, type UnpackedPackage } from '../packages/unpack.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import type { BuildManifest } from './build.js';
import type { PackageRef } from './packages.js';

export const SBOM_FILE = 'sbom.cdx.json';

export interface SbomInput {
  readonly manifest: BuildManifest;
  /** Closure name (installer, system) → its packages, as the lock (or the resolution) gives them. */
  readonly closures: Readonly<Record<string, readonly PackageRef[]>>;
  /** Each hardware description's SHA-256, by id. */
  readonly hardware: Readonly<Record<string, string>>;
  readonly payloadHeaderSha256: string;
  /** Extracted package, by .deb SHA-256: its control fields and files (for the copyright file). */
  readonly unpacked: (ref: PackageRef) => UnpackedPackage | undefined;
  readonly readBlob: (sha256: string) => Promise<Buffer>;
}

interface Property {
  readonly name: string;
  readonly value: string;
}

/**
 * `pkg:deb/debian/<name>@<version>?arch=<arch>&distro=<release>` (purl spec, type deb); ":" of an
 * epoch stays as is (the spec forbids encoding it). `distro` names the release, not the archive
 * suite: scanners match advisories on "bookworm", and bookworm-security's packages are bookworm's
 * (the suite stays in the component's `debian:suite` property).
 */
export function debPurl(p: Pick<PackageRef, 'name' | 'version' | 'architecture' | 'suite'>): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%3A/g, ':');
  const release = p.suite.replace(/-(security|updates|backports|backports-sloppy|proposed-updates)$/, '');
  return `pkg:deb/debian/${enc(p.name)}@${enc(p.version)}?arch=${enc(p.architecture)}&distro=${enc(release)}`;
}

/** "Name <email>" → a CycloneDX organizational entity. */
function supplierOf(maintainer: string | undefined) {
  if (maintainer === undefined) return undefined;
  const m = /^(.*?)\s*<([^>]+)>\s*$/.exec(maintainer);
  const name = (m?.[1] ?? maintainer).trim();
  return m?.[2] ? { name, contact: [{ name, email: m[2] }] } : { name };
}

// Debian's library sections; everything else a package ships is counted as an application.
const LIBRARY_SECTIONS = new Set(['libs', 'oldlibs', 'libdevel']);

function componentType(control: Readonly<Record<string, string>> | undefined): 'library' | 'application' {
  const section = (control?.Section ?? '').split('/').pop() ?? '';
  return LIBRARY_SECTIONS.has(section) ? 'library' : 'application';
}

/**
 * /usr/share/doc/<pkg>/copyright of an extracted package, following symlinks
 * (a library's doc folder often links to its source package's) among the doc
 * entries of all the packages.
 */
async function copyrightOf(
  name: string,
  docs: ReadonlyMap<string, TreeEntry>,
  readBlob: SbomInput['readBlob'],
): Promise<string | undefined> {
  let path = `/usr/share/doc/${name}/copyright`;
  for (let hops = 0; hops < 8; hops++) {
    const entry = docs.get(path);
    if (entry?.type === 'file') return (await readBlob(entry.sha256)).toString('utf8');
    if (entry?.type === 'symlink' || entry?.type === 'hardlink') {
      path = posix.resolve(posix.dirname(path), entry.target);
      continue;
    }
    // The folder itself may be the link.
    const folder = posix.dirname(path);
    const dir = docs.get(folder);
    if (dir?.type !== 'symlink') return undefined;
    path = posix.join(posix.resolve(posix.dirname(folder), dir.target), 'copyright');
  }
  return undefined;
}

const licenseJson = (l: DeclaredLicense) => ({ license: l });

/** The SBOM as a JSON text (2-space indented, trailing newline). */
export async function makeSbom(input: SbomInput): Promise<string> {
  const { manifest: m } = input;
  // One component per name+version+arch, with the closures it is in.
  const byKey = new Map<string, { ref: PackageRef; closures: string[] }>();
  for (const closure of Object.keys(input.closures).sort()) {
    for (const ref of input.closures[closure] ?? []) {
      const key = `${ref.name}\0${ref.version}\0${ref.architecture}`;
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.closures.includes(closure)) seen.closures.push(closure);
      } else byKey.set(key, { ref, closures: [closure] });
    }
  }
  const packages = [...byKey.values()].sort((a, b) => cmp(a.ref.name, b.ref.name) || cmp(a.ref.version, b.ref.version));
  const unpacked = packages.map(({ ref }) => input.unpacked(ref));
  const docs = new Map<string, TreeEntry>();
  for (const u of unpacked)
    for (const e of u?.entries ?? []) if (e.path.startsWith('/usr/share/doc/')) docs.set(e.path, e);

  const copyrights = await Promise.all(
    packages.map(({ ref }, i) =>
      unpacked[i] ? copyrightOf(ref.name, docs, input.readBlob) : Promise.resolve(undefined),
    ),
  );
  const components = packages.map(({ ref, closures }, i) => {
    const u = unpacked[i];
    const text = copyrights[i];
    const licenses = text === undefined ? undefined : declaredLicenses(text);
    const supplier = supplierOf(u?.control.Maintainer);
    const description = u?.control.Description?.split('\n')[0]?.trim();
    const purl = debPurl(ref);
    return {
      type: componentType(u?.control),
      'bom-ref': purl,
      ...(supplier ? { supplier } : {}),
      name: ref.name,
      version: ref.version,
      ...(description ? { description } : {}),
      hashes: [{ alg: 'SHA-256', content: ref.sha256 }],
      ...(licenses ? { licenses: licenses.map(licenseJson) } : {}),
      purl,
      properties: [
        ...closures.map((c) => ({ name: 'bootforge:closure', value: c })),
        { name: 'debian:architecture', value: ref.architecture },
        { name: 'debian:suite', value: ref.suite },
      ],
    };
  });

  const image = m.artifacts['installer.img'];
  const properties: Property[] = [
    { name: 'bootforge:profile', value: m.profile },
    { name: 'bootforge:profile:sha256', value: m.profileSha256 },
    ...(m.lockSha256 !== null ? [{ name: 'bootforge:lock:sha256', value: m.lockSha256 }] : []),
    { name: 'bootforge:hardware:mode', value: m.hardware.mode },
    ...Object.keys(input.hardware)
      .sort()
      .map((id) => ({ name: `bootforge:hardware:${id}:sha256`, value: input.hardware[id] ?? '' })),
    ...(image ? [{ name: 'bootforge:image:sha256', value: image.sha256 }] : []),
    { name: 'bootforge:payload:sha256', value: m.payload.sha256 },
    { name: 'bootforge:payload:header-sha256', value: input.payloadHeaderSha256 },
    ...(m.generation
      ? [
          { name: 'bootforge:generation:id', value: m.generation.id },
          { name: 'bootforge:generation:name', value: m.generation.name },
        ]
      : []),
    { name: 'bootforge:kernel', value: m.kernel },
    { name: 'bootforge:source-date-epoch', value: String(m.sourceDateEpoch) },
  ];
  const body = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      timestamp: new Date(m.sourceDateEpoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
      tools: { components: [{ type: 'application', name: 'bootforge', version: m.bootforge }] },
      component: {
        type: 'operating-system',
        'bom-ref': 'bootforge:image',
        name: m.profile,
        ...(m.generation ? { version: m.generation.id } : {}),
        description: `bootforge installer image of profile ${m.profile}`,
        ...(image ? { hashes: [{ alg: 'SHA-256', content: image.sha256 }] } : {}),
      },
      properties,
    },
    components,
    dependencies: [{ ref: 'bootforge:image', dependsOn: components.map((c) => c['bom-ref']) }],
  };
  const content = JSON.stringify(body);
  const serial = guidFromHash('sbom', createHash('sha256').update(content).digest('hex')).toLowerCase();
  const { bomFormat, specVersion, ...rest } = body;
  return `${JSON.stringify({ bomFormat, specVersion, serialNumber: `urn:uuid:${serial}`, ...rest }, null, 2)}\n`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The SBOM input's package side from the package store under a cache root (packages the build unpacked). */
export function storeReaders(cacheRoot: string): Pick<SbomInput, 'unpacked' | 'readBlob'> {
  const store = new PackageStore(cacheRoot);
  return { unpacked: (ref) => store.cached(ref), readBlob: (sha256) => store.blobs.get(sha256) };
}

/** Each hardware description's SHA-256 (of the file its quirks were read from), by id. */
export function hardwareHashes(profile: ResolvedProfile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of profile.hardware.ids) {
    const file = profile.hardware.quirks.find((q) => q.hardware === id)?.loc.file;
    if (file === undefined) continue;
    try {
      out[id] = createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      // A description read from somewhere no longer there: left out rather than guessed.
    }
  }
  return out;
}
