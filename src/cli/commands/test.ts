import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { BootforgeError } from '../../errors/index.js';
import { displayFile } from '../../fsutil/display.js';
import { build, type BuildManifest } from '../../pipeline/build.js';
import { resolve } from '../../pipeline/resolve.js';
import type { ResolvedProfile } from '../../profile/resolve.js';
import {
  bootTest,
  bootTestBuildEvents,
  probeAccel,
  readManifest,
  type BootTestResult,
  type BootTestTimeouts,
} from '../../pipeline/boot-test.js';
import {
  HARDWARE_DIR_OPTION,
  SOURCE_ROOT_OPTION,
  HARDWARE_OPTION,
  resolveOptionsOf,
  type CliContext,
} from '../context.js';
import { reporterFor } from '../reporter.js';
import { addSourceOptions, openProfile, type ProfileCliOptions } from '../source-options.js';

interface TestCliOptions extends ProfileCliOptions {
  image?: string;
  out?: string;
  workDir?: string;
  accel?: string;
  keep?: boolean;
  timeout?: string;
  sshKey?: string;
}

const ACCELS = ['tcg', 'kvm', 'auto'] as const;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function summary(profile: string, r: BootTestResult): string[] {
  const t = r.timings;
  return [
    `${profile}: passed on ${r.accel}: generation 1 (${r.generation.id}) installed on ${r.installedOn}, host name ${r.hostname}`,
    `  ${r.checks.length} checks, ${r.tests.length} tests passed; powered off (${r.poweroff})`,
    `  install ${seconds(t.installMs)} (installed after ${seconds(t.installToInstalledMs)}), boot ${seconds(t.bootToShellMs)} (generation active after ${seconds(t.bootToGenerationMs)}), checks ${seconds(t.checksMs)}, tests ${seconds(t.testsMs)}, poweroff ${seconds(t.poweroffMs)}; total ${seconds(t.totalMs)}`,
    `  serial logs: ${displayFile(r.logs.install)}, ${displayFile(r.logs.boot)}`,
  ];
}

export function registerTest(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('test')
      .description(
        "boot-test a profile in QEMU: build its installer, install onto a blank disk, boot the installed disk, check it and run the profile's tests",
      )
      .argument('<profile>', 'profile YAML file')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('--image <installer.img>', 'test this image (with manifest.json beside it) instead of building one')
      .option('--out <dir>', 'output folder of the build (default: out/<profile name>)')
      .option('--work-dir <dir>', 'serial logs and the target disk (default: <out>/test)')
      .option('--accel <accel>', 'tcg, kvm, or auto (kvm when /dev/kvm works, else tcg)', 'tcg')
      .option('--keep', 'keep the target disk and firmware variables after a passing run')
      .option(
        '--ssh-key <file>',
        "also log in over SSH (QEMU's network forwarded to 127.0.0.1) with this private key as the profile's first user with keys, and sudo -n if they may",
      )
      .option('--timeout <s>', 'time limit of the install and of the boot, each, in seconds'),
  ).action(async (profilePath: string, o: TestCliOptions) => {
    if (!ACCELS.includes(o.accel as (typeof ACCELS)[number])) {
      throw new BootforgeError('BF_USAGE', `unknown accelerator ${JSON.stringify(o.accel)}; use tcg, kvm or auto`);
    }
    let timeouts: Partial<BootTestTimeouts> = {};
    if (o.timeout !== undefined) {
      const s = Number(o.timeout);
      if (!Number.isFinite(s) || s <= 0) {
        throw new BootforgeError('BF_USAGE', `--timeout takes a number of seconds, not ${JSON.stringify(o.timeout)}`);
      }
      timeouts = { install: s * 1000, boot: s * 1000 };
    }
    // Progress (the build, QEMU's phases, the installer's steps, each check) goes to stderr.
    const reporter = reporterFor(o);
    const note = (message: string) => reporter.emit({ type: 'step', stage: 'test', message });

    let image: string;
    let profile: ResolvedProfile;
    let manifest: BuildManifest;
    if (o.image !== undefined) {
      ({ resolved: profile } = resolve(resolveOptionsOf(profilePath, o)));
      image = resolvePath(o.image);
      manifest = readManifest(dirname(image));
      const expected = manifest.artifacts['installer.img']?.sha256;
      if (expected !== undefined && (await fileSha256(image)) !== expected) {
        throw new BootforgeError(
          'BF_USAGE',
          `${displayFile(image)} is not the image manifest.json beside it describes (its sha256 differs)`,
          { hint: 'rebuild the image, or pass the installer.img its manifest.json belongs to' },
        );
      }
    } else {
      const opened = await openProfile(profilePath, o, reporter);
      profile = opened.resolved;
      const started = performance.now();
      const built = await build({
        profile: opened.resolved,
        source: opened.source,
        ...(o.out ? { out: o.out } : {}),
        format: 'raw',
      });
      image = built.image;
      manifest = built.manifest;
      note(`built ${displayFile(built.image)} in ${seconds(performance.now() - started)}`);
    }
    const workDir = resolvePath(o.workDir ?? join(dirname(image), 'test'));
    let accel: 'tcg' | 'kvm';
    if (o.accel === 'auto') {
      accel = await probeAccel(image, manifest, workDir);
      note(`accel: ${accel} (${accel === 'kvm' ? 'the kernel starts under KVM' : 'no working KVM'})`);
    } else accel = o.accel as 'tcg' | 'kvm';
    note(`${profile.name} on ${accel}, work folder ${displayFile(workDir)}`);
    let result: BootTestResult;
    try {
      result = await bootTest({
        image,
        manifest,
        profile,
        workDir,
        accel,
        timeouts,
        ...(o.keep ? { keep: true } : {}),
        ...(o.sshKey ? { ssh: { identity: resolvePath(o.sshKey) } } : {}),
        onEvent: (e) => {
          for (const event of bootTestBuildEvents(e)) reporter.emit(event);
        },
      });
    } finally {
      reporter.close();
    }
    if (o.json) {
      ctx.out(JSON.stringify({ profile: profile.name, image: displayFile(image), ...result }, null, 2));
      return;
    }
    for (const line of summary(profile.name, result)) ctx.out(line);
  });
}
