import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import type { QuirkReport } from '../../hardware/apply.js';
import { resolve } from '../../pipeline/resolve.js';
import type { ResolvedProfile } from '../../profile/resolve.js';
import { userRecord } from '../../yaml/located.js';
import { formatLoc } from '../../yaml/merge.js';
import {
  resolveOptionsOf,
  HARDWARE_DIR_OPTION,
  SOURCE_ROOT_OPTION,
  HARDWARE_OPTION,
  type CliContext,
  type HardwareCliOptions,
} from '../context.js';

export interface Annotated {
  readonly from: string;
  readonly why?: string;
}

/** The machine-readable explanation; its shape is covered by a snapshot test. */
export function explainJson(r: ResolvedProfile) {
  const annotations = userRecord<Annotated>();
  for (const key of Object.keys(r.origins).sort()) {
    const why = Object.entries(r.why).find(
      ([p]) => key === p || key.startsWith(`${p}.`) || key.startsWith(`${p}[`),
    )?.[1];
    annotations[key] = { from: r.origins[key] ?? 'default', ...(why !== undefined ? { why } : {}) };
  }
  return {
    profile: r.name,
    files: r.files.map((f) => displayFile(f)),
    hardware: {
      mode: r.hardware.mode,
      ids: r.hardware.ids,
      quirks: r.hardware.quirks.map(quirkJson),
    },
    kernelCommandLine: r.data.kernel.params.map((value, i) => ({ value, ...annotations[`kernel.params[${i}]`] })),
    resolved: r.data,
    annotations,
  };
}

function quirkJson(q: QuirkReport) {
  return {
    hardware: q.hardware,
    kind: q.kind,
    value: q.value,
    status: q.status,
    from: formatLoc(q.loc),
    ...(q.why !== undefined ? { why: q.why } : {}),
    ...(q.gate !== undefined ? { kernel: q.gate } : {}),
    ...(q.reason !== undefined ? { reason: q.reason } : {}),
  };
}

function leaves(value: unknown, prefix: string, out: [string, unknown][]): void {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${prefix}[${i}]`, out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  else out.push([prefix, value]);
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 3)}...`;
}

export function explainText(r: ResolvedProfile): string {
  const j = explainJson(r);
  const out: string[] = [];
  out.push(`profile ${r.name}${r.data.description ? ` - ${r.data.description}` : ''}`);
  out.push(`  files: ${j.files.join(' <- ')}`);
  const mode = r.hardware.mode === 'auto' ? 'detected at install time among' : 'fixed';
  out.push(`  hardware (${mode}): ${r.hardware.ids.join(', ') || 'none'}`);
  out.push('', 'kernel command line:');
  for (const p of j.kernelCommandLine) {
    out.push(`  ${p.value}`, `      set at ${p.from ?? 'default'}`);
    if (p.why !== undefined) out.push(`      why: ${p.why}`);
  }
  if (j.hardware.quirks.length > 0) {
    out.push('', 'hardware quirks:');
    for (const q of j.hardware.quirks) {
      const reason = q.reason !== undefined ? ` (${q.reason})` : '';
      out.push(`  [${q.status}] ${q.hardware} ${q.kind}: ${q.value}${reason}`);
      if (q.why !== undefined) out.push(`      why: ${q.why}`);
    }
  }
  const values: [string, unknown][] = [];
  leaves(j.resolved, '', values);
  out.push('', 'values:');
  out.push(
    ...table(
      values.map(([k, v]) => [`  ${k}`, `= ${clip(JSON.stringify(v) ?? '', 48)}`, j.annotations[k]?.from ?? 'default']),
    ),
  );
  return out.join('\n');
}

export function registerExplain(program: Command, ctx: CliContext): void {
  program
    .command('explain')
    .description(
      'show the merged profile, every value with the file:line that set it, and why each kernel parameter is there',
    )
    .argument('<profile>', 'profile YAML file')
    .option(...HARDWARE_OPTION)
    .option(...HARDWARE_DIR_OPTION)
    .option(...SOURCE_ROOT_OPTION)
    .option('--kernel-version <version>', 'kernel release to check version-gated quirks against')
    .option('--json', 'print JSON')
    .action((profile: string, opts: HardwareCliOptions & { json?: boolean }) => {
      const { resolved } = resolve(resolveOptionsOf(profile, opts));
      ctx.out(opts.json ? JSON.stringify(explainJson(resolved), null, 2) : explainText(resolved));
    });
}
