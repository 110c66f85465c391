import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { silentReporter, type Reporter } from '../log/events.js';
import { startTask, tracked } from '../log/progress.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { timedSteps } from './steps.js';
import { buildGenerationPayload, type GenerationPayload } from './generation-payload.js';
import { readBundleIndex } from './delta.js';
import { assembleTreeOf, buildEpoch, closurePackages, unpackPackages, type PackageSource } from './packages.js';

/**
 * An update bundle is the generation's header and payload in one file, exactly as the
 * installer reads them from its payload partition: bootforge-gen switch checks the header
 * against --expect (its SHA-256, printed by the build), the payload against the header, and
 * unpacks it into the store beside the other generations. Same system, same bytes, same name.
 */
export async function writeBundle(
  payload: GenerationPayload,
  path: string,
  reporter: Reporter = silentReporter,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const task = startTask(reporter, 'bundle', `writing ${basename(path)}`, payload.header.length + payload.size);
  try {
    await pipeline(
      Readable.from(
        tracked(
          (async function* () {
            yield payload.header;
            for await (const chunk of createReadStream(payload.file)) yield chunk as Buffer;
          })(),
          task,
        ),
      ),
      createWriteStream(tmp),
    );
    renameSync(tmp, path);
    task.finish();
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface BundleOptions {
  readonly profile: ResolvedProfile;
  readonly source: PackageSource;
  /** Folder the bundle goes to; default out/<profile>-bundles. */
  readonly out?: string;
  readonly sourceDateEpoch?: number;
  readonly payloadLevel?: number;
  /** A full bundle of a generation the machines have: the new bundle carries only what differs. */
  readonly base?: string;
}

export interface BundleResult {
  readonly path: string;
  readonly size: number;
  /** Pass to bootforge-gen switch --expect. */
  readonly headerSha256: string;
  readonly generation: GenerationPayload['generation'];
  readonly kernel: string;
  readonly uncompressedSize: number;
  /** Bytes of the whole tree (for a full bundle, uncompressedSize). */
  readonly treeSize: number;
  readonly delta?: GenerationPayload['delta'];
  readonly timings: Readonly<Record<string, number>>;
}

/** bootforge bundle: the profile's generation as an update bundle, `<id>-<profile>.bundle`, and its .json. */
export async function bundle(options: BundleOptions): Promise<BundleResult> {
  const { profile, source } = options;
  const { step, timings } = timedSteps(source.reporter, 'bundle');
  const out = resolvePath(options.out ?? join('out', `${profile.name}-bundles`));
  mkdirSync(out, { recursive: true });
  const scratch = join(out, `.scratch-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const pkgs = await step('resolve packages', () => closurePackages(profile, source));
    const epoch = buildEpoch(options.sourceDateEpoch, pkgs.epoch);
    const installerTree = assembleTreeOf(await unpackPackages(source, pkgs.installer));
    const base =
      options.base !== undefined ? await step('read base', () => readBundleIndex(options.base as string)) : undefined;
    const payload = await buildGenerationPayload({
      profile,
      source,
      packages: pkgs,
      installerTree,
      epoch,
      dir: scratch,
      ...(options.payloadLevel !== undefined ? { level: options.payloadLevel } : {}),
      ...(base ? { base } : {}),
      step,
    });
    // A delta is named by what it needs too: one base, one file.
    const path = join(
      out,
      payload.delta
        ? `${payload.generation.name}.from-${payload.delta.base.slice(0, 12)}.bundle`
        : `${payload.generation.name}.bundle`,
    );
    await step('bundle', () => writeBundle(payload, path, source.reporter));
    const size = statSync(path).size;
    const sha256 = createHash('sha256');
    for await (const chunk of createReadStream(path)) sha256.update(chunk as Buffer);
    const info = {
      profile: profile.name,
      generation: payload.generation,
      headerSha256: payload.headerSha256,
      kernel: payload.kernelRelease,
      sourceDateEpoch: epoch,
      payload: { sha256: payload.sha256, size: payload.size, uncompressedSize: payload.uncompressedSize },
      treeSize: payload.treeSize,
      ...(payload.delta ? { delta: payload.delta } : {}),
      bundle: { size, sha256: sha256.digest('hex') },
      packages: pkgs.system.map(({ name, version, architecture, sha256: s }) => ({
        name,
        version,
        architecture,
        sha256: s,
      })),
    };
    const json = `${path}.json`;
    writeFileSync(`${json}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
    renameSync(`${json}.tmp`, json);
    return {
      path,
      size,
      headerSha256: payload.headerSha256,
      generation: payload.generation,
      kernel: payload.kernelRelease,
      uncompressedSize: payload.uncompressedSize,
      treeSize: payload.treeSize,
      ...(payload.delta ? { delta: payload.delta } : {}),
      timings,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
