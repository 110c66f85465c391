import type { Command } from 'commander';
import { formatSize } from '../../schema/size.js';
import { openPackageSource, resolveClosures, type RepoSettings } from '../../pipeline/packages.js';
import type { ResolvedPackage } from '../../packages/resolve.js';
import { collectList, type CliContext } from '../context.js';
import { reporterFor } from '../reporter.js';
import { addSourceOptions, sourceFlags, type SourceCliOptions } from '../source-options.js';

interface PackagesOptions extends SourceCliOptions {
  suite?: string[];
  component?: string[];
  essential?: boolean;
}

function settingsFrom(o: PackagesOptions): RepoSettings {
  return {
    suites: o.suite ?? ['bookworm', 'bookworm-updates', 'bookworm-security'],
    components: o.component ?? ['main'],
    architecture: 'amd64',
  };
}

function packageJson(p: ResolvedPackage) {
  const r = p.record;
  return {
    name: r.name,
    version: r.version,
    architecture: r.architecture,
    suite: r.suite,
    filename: r.filename,
    size: r.size,
    installedSize: r.installedSize,
    sha256: r.sha256,
    reason: p.reason,
  };
}

function summary(list: readonly ResolvedPackage[]): string {
  const download = list.reduce((n, p) => n + p.record.size, 0);
  const installed = list.reduce((n, p) => n + (p.record.installedSize ?? 0) * 1024, 0);
  return `${list.length} packages, ${formatSize(download)} to download, ${formatSize(installed)} installed`;
}

export function registerPackages(program: Command, ctx: CliContext): void {
  const pk = program.command('packages').description('resolve and fetch Debian packages (verified like apt-secure)');
  const common = (cmd: Command) =>
    addSourceOptions(
      cmd
        .argument('<name...>', 'package names, optionally "name=version" or "name (>= version)"')
        .option('--suite <suite...>', 'suites (default: bookworm bookworm-updates bookworm-security)', collectList)
        .option('--component <component...>', 'components (default: main)', collectList)
        .option('--essential', 'include Essential packages, as a full system has them'),
    );

  common(pk.command('resolve').description('print the dependency closure of packages with versions and sizes')).action(
    async (names: string[], o: PackagesOptions) => {
      const reporter = reporterFor(o);
      const source = openPackageSource(settingsFrom(o), sourceFlags(o), reporter);
      const { closures } = await resolveClosures(source, {
        request: { requests: names, essential: o.essential === true, priorities: [] },
      });
      reporter.close();
      const list = closures.request ?? [];
      if (o.json) {
        ctx.out(JSON.stringify(list.map(packageJson), null, 2));
        return;
      }
      const width = Math.max(...list.map((p) => p.record.name.length));
      const vwidth = Math.max(...list.map((p) => p.record.version.length));
      for (const p of list) {
        ctx.out(
          `${p.record.name.padEnd(width)}  ${p.record.version.padEnd(vwidth)}  ${formatSize(p.record.size).padStart(9)}  ${p.record.suite.padEnd(17)}  ${p.reason}`,
        );
      }
      ctx.out(summary(list));
    },
  );

  common(
    pk.command('fetch').description('download a closure into the cache, verified, and print where each file is'),
  ).action(async (names: string[], o: PackagesOptions) => {
    const reporter = reporterFor(o);
    const source = openPackageSource(settingsFrom(o), sourceFlags(o), reporter);
    const { closures } = await resolveClosures(source, {
      request: { requests: names, essential: o.essential === true, priorities: [] },
    });
    const list = closures.request ?? [];
    const uriOf = new Map(source.config.suites.map((s) => [s.suite, s.uri]));
    await Promise.all(
      list.map((p) =>
        source.downloader.get(
          `${uriOf.get(p.record.suite) ?? ''}/${p.record.filename}`,
          p.record,
          `${p.record.name}_${p.record.version}`,
        ),
      ),
    );
    reporter.close();
    const out = list.map((p) => ({ ...packageJson(p), path: source.cache.pathOf(p.record.sha256) }));
    if (o.json) ctx.out(JSON.stringify(out, null, 2));
    else {
      for (const p of out) ctx.out(`${p.name} ${p.version} ${p.path}`);
      ctx.out(summary(list));
    }
  });
}
