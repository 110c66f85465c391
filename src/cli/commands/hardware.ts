import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import type { HardwareDescription } from '../../hardware/catalog.js';
import type { AutoPick, DetectReport } from '../../hardware/detect.js';
import type { DriverBinding } from '../../hardware/sysfs.js';
import { detectHardware, DMI_FIELDS, listHardware, showHardware } from '../../pipeline/hardware.js';
import { formatLoc } from '../../yaml/merge.js';
import { HARDWARE_DIR_OPTION, type CliContext } from '../context.js';

function ruleSummary(rule: object): string {
  return Object.entries(rule)
    .map(([k, v]: [string, unknown]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
    .join(' ');
}

function matchSummary(d: HardwareDescription): string {
  if (d.data.generic) return '(fallback for unknown machines)';
  return d.data.match.map(ruleSummary).join('; ');
}

const fields = (n: number) => `${n} DMI field${n === 1 ? '' : 's'}`;

function autoLine(auto: AutoPick): string {
  switch (auto.status) {
    case 'match':
      return `hardware: auto picks ${auto.id} (${fields(auto.score)})`;
    case 'tie':
      return `hardware: auto picks nothing: ${auto.ids.join(', ')} match equally well (${fields(auto.score)}); the installer stops on a tie`;
    case 'generic':
      return `hardware: auto picks ${auto.id}: no description matches this machine, and ${auto.id} is the generic fallback`;
    case 'none':
      return 'hardware: auto picks nothing: no description matches this machine and none is generic; the installer goes on without model-specific quirks';
  }
}

/** A driver along a device's chain; the device's own name is left out where it is the device itself. */
function bindingText(b: DriverBinding, own: string): string {
  const at = b.device === own ? '' : `${b.device} `;
  if (b.origin === 'builtin') return `${at}${b.driver} (built in)`;
  if (b.origin === 'unknown') return `${at}${b.driver} (module unknown)`;
  return `${at}${b.driver}${b.module !== null && b.module !== b.driver ? ` [${b.module}]` : ''}`;
}

function tieWarning(auto: AutoPick): string | undefined {
  return auto.status === 'tie'
    ? `bootforge: warning: this machine matches ${auto.ids.join(', ')} equally well: with hardware: auto the installer stops; make one of them more specific`
    : undefined;
}

function detectJson(r: DetectReport): unknown {
  return {
    sysfs: displayFile(r.sysfs),
    dmi: Object.fromEntries(DMI_FIELDS.map((k) => [k, r.dmi.fields[k] ?? null])),
    serial: r.dmi.serial.status === 'readable' ? { ...r.dmi.serial, perMachine: true } : r.dmi.serial,
    matches: r.matches.map((m) => ({
      id: m.id,
      file: displayFile(m.file),
      score: m.score,
      rule: m.rule,
      fields: m.fields,
    })),
    auto: r.auto,
    devices: r.devices,
    initrdModules: r.initrdModules,
    builtin: r.builtin,
    dependencies: r.dependencies,
    unknownModules: r.unknownModules,
    notListed: r.notListed,
    firmware: r.firmware,
    draft: r.draft,
  };
}

function printDetect(r: DetectReport, ctx: CliContext): void {
  ctx.out(`sysfs: ${displayFile(r.sysfs)}`);
  ctx.out('DMI (class/dmi/id):');
  if (Object.keys(r.dmi.fields).length === 0)
    ctx.out('  none: the firmware gives no DMI strings (no SMBIOS tables), so no description can match by DMI');
  else for (const k of DMI_FIELDS) ctx.out(`  ${k.padEnd(16)} ${r.dmi.fields[k] ?? '(not set)'}`);
  const serial = r.dmi.serial;
  ctx.out(
    `  ${'product_serial'.padEnd(16)} ${
      serial.status === 'readable'
        ? `${serial.value} (per machine: never used to match)`
        : serial.status === 'unreadable'
          ? '(not readable: root only)'
          : '(not set)'
    }`,
  );
  if (r.matches.length === 0) ctx.out('matching descriptions: none');
  else {
    ctx.out('matching descriptions:');
    const width = Math.max(...r.matches.map((m) => m.id.length));
    for (const m of r.matches)
      ctx.out(
        `  ${m.id.padEnd(width)}  ${fields(m.score)}, rule ${m.rule + 1}: ${ruleSummary(m.fields)} (${displayFile(m.file)})`,
      );
  }
  ctx.out(autoLine(r.auto));
  const tie = tieWarning(r.auto);
  if (tie !== undefined) ctx.err(tie);
  ctx.out('devices and their drivers (device first, then up its chain):');
  if (r.devices.length === 0) ctx.out('  none found');
  for (const d of r.devices)
    ctx.out(
      `  ${d.name} (${d.label}): ${d.drivers.length === 0 ? 'no driver bound' : d.drivers.map((b) => bindingText(b, d.name)).join(', ')}`,
    );
  ctx.out(`initrd modules this machine uses: ${r.initrdModules.map((m) => m.name).join(', ') || 'none'}`);
  if (r.builtin.length > 0) ctx.out(`  built into the kernel: ${r.builtin.join(', ')}`);
  if (r.unknownModules.length > 0) ctx.out(`  module not shown by the snapshot: ${r.unknownModules.join(', ')}`);
  if (r.notListed)
    ctx.out(
      r.notListed.modules.length === 0
        ? `  all listed by ${r.notListed.id}`
        : `  not listed by ${r.notListed.id}: ${r.notListed.modules.join(', ')}`,
    );
  if (r.firmware === null) ctx.out('firmware: sysfs does not show it (a snapshot can carry a firmware.list)');
  else {
    ctx.out('firmware (firmware.list):');
    for (const f of r.firmware) ctx.out(`  ${f.file}${f.package === null ? '' : ` (${f.package}?)`}`);
  }
  if (r.draft === null) return;
  if ('skipped' in r.draft) {
    ctx.out(`no draft description: ${r.draft.skipped}`);
    return;
  }
  ctx.out('');
  ctx.out(`draft description of this unknown model (review it, then save it as hardware/${r.draft.id}.yaml):`);
  ctx.out('');
  ctx.out(r.draft.yaml.trimEnd());
}

export function registerHardware(program: Command, ctx: CliContext): void {
  const hw = program.command('hardware').description('list, show and detect hardware descriptions');
  hw.command('list')
    .description('list the known hardware descriptions')
    .option(...HARDWARE_DIR_OPTION)
    .option('--json', 'print JSON')
    .action((opts: { hardwareDir?: string[]; json?: boolean }) => {
      const catalog = listHardware(opts.hardwareDir ?? []);
      if (opts.json) {
        ctx.out(
          JSON.stringify(
            catalog.map((d) => ({
              id: d.id,
              description: d.data.description,
              file: displayFile(d.file),
              match: d.data.match,
              generic: d.data.generic,
            })),
            null,
            2,
          ),
        );
        return;
      }
      const width = Math.max(...catalog.map((d) => d.id.length));
      for (const d of catalog) ctx.out(`${d.id.padEnd(width)}  ${d.data.description}`);
    });
  hw.command('detect')
    .description(
      "read this machine's DMI strings and drivers from sysfs, show the matching descriptions, and draft one for an unknown model",
    )
    .option('--sysfs <dir>', 'sysfs root, or a snapshot folder with the same layout', '/sys')
    .option(...HARDWARE_DIR_OPTION)
    .option('--json', 'print JSON')
    .action((opts: { sysfs: string; hardwareDir?: string[]; json?: boolean }) => {
      const report = detectHardware(opts.sysfs, opts.hardwareDir ?? []);
      if (opts.json) {
        ctx.out(JSON.stringify(detectJson(report), null, 2));
        const tie = tieWarning(report.auto);
        if (tie !== undefined) ctx.err(tie);
        return;
      }
      printDetect(report, ctx);
    });
  hw.command('show')
    .description('show one hardware description: how it is recognised and each quirk with its reason')
    .argument('<id>', 'hardware id')
    .option(...HARDWARE_DIR_OPTION)
    .option('--kernel-version <version>', 'kernel release to check version-gated quirks against')
    .option('--json', 'print JSON')
    .action((id: string, opts: { hardwareDir?: string[]; kernelVersion?: string; json?: boolean }) => {
      const { description: d, quirks } = showHardware(id, opts.hardwareDir ?? [], opts.kernelVersion);
      if (opts.json) {
        ctx.out(
          JSON.stringify(
            {
              ...d.data,
              file: displayFile(d.file),
              quirks: quirks.map((q) => ({
                kind: q.kind,
                value: q.value,
                status: q.status,
                why: q.why,
                kernel: q.gate,
                reason: q.reason,
                from: formatLoc(q.loc),
              })),
            },
            null,
            2,
          ),
        );
        return;
      }
      ctx.out(`${d.id}: ${d.data.description}`);
      ctx.out(`  file: ${displayFile(d.file)}`);
      ctx.out(`  arch: ${d.data.arch}, firmware: ${d.data.bootFirmware}`);
      ctx.out(`  match: ${matchSummary(d) || '(selected by id only)'}`);
      for (const q of quirks) {
        const gate =
          q.gate !== undefined
            ? ` [kernel ${q.gate}${q.status === 'skipped' ? ': skipped' : q.status === 'pending' ? '' : ': applies'}]`
            : '';
        ctx.out(`  ${q.kind}: ${q.value}${gate}`);
        if (q.why !== undefined) ctx.out(`      why: ${q.why}`);
      }
    });
}
