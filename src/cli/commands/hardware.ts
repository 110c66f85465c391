import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import type { HardwareDescription } from '../../hardware/catalog.js';
import { listHardware, showHardware } from '../../pipeline/hardware.js';
import { formatLoc } from '../../yaml/merge.js';
import { HARDWARE_DIR_OPTION, type CliContext } from '../context.js';

function matchSummary(d: HardwareDescription): string {
  if (d.data.generic) return '(fallback for unknown machines)';
  return d.data.match
    .map((rule) =>
      Object.entries(rule)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
        .join(' '),
    )
    .join('; ');
}

export function registerHardware(program: Command, ctx: CliContext): void {
  const hw = program.command('hardware').description('list and show hardware descriptions');
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
