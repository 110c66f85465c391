import type { Command } from 'commander';
import type { InitrdInfo } from '../../pipeline/initrd-api.js';
import { printable } from '../../fsutil/display.js';
import { inspectFile, type DiskImageReport, type InspectReport } from '../../pipeline/inspect.js';
import { formatSize } from '../../schema/size.js';
import type { CliContext } from '../context.js';

export function registerInspect(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description(
      'show what an initrd holds (segments, entries), or an installer image: GPT, ESP files, boot entries, payload header, manifest and SBOM',
    )
    .argument('<file>', 'initrd, or raw disk image (installer.img)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const print = (report: InspectReport): void => {
        if (report.kind === 'initrd') {
          // The initrd's JSON is as it always was: the report without the kind.
          const { kind: _kind, ...info } = report;
          if (o.json) ctx.out(JSON.stringify(info, null, 2));
          else printInitrd(info, ctx);
        } else if (o.json) ctx.out(JSON.stringify(report, null, 2));
        else printDisk(file, report, ctx);
      };
      // An image whose ESP cannot be read still shows its GPT before the error.
      print(await inspectFile(file, { partial: print }));
    });
}

function printInitrd(info: InitrdInfo, ctx: CliContext): void {
  for (const seg of info.segments) {
    ctx.out(
      `segment at ${seg.offset}: ${seg.compression}, ${formatSize(seg.compressedSize)}, ${seg.entries.length} entries`,
    );
    for (const e of seg.entries) {
      const type = e.mode >>> 12;
      const kind =
        type === 0o04
          ? 'd'
          : type === 0o12
            ? 'l'
            : type === 0o02
              ? 'c'
              : type === 0o06
                ? 'b'
                : type === 0o01
                  ? 'p'
                  : '-';
      const perm = (e.mode & 0o7777).toString(8).padStart(4, '0');
      ctx.out(
        `  ${kind}${perm} ${String(e.uid).padStart(4)} ${String(e.gid).padStart(4)} ${String(e.size).padStart(10)}  ${printable(e.name)}${e.linkTarget !== undefined ? ` -> ${printable(e.linkTarget)}` : ''}`,
      );
    }
  }
}

function printDisk(file: string, r: DiskImageReport, ctx: CliContext): void {
  const g = r.gpt;
  ctx.out(`${printable(file)}: GPT disk image, ${formatSize(r.size)}, disk GUID ${g.diskGuid ?? '?'}`);
  for (const problem of g.problems) ctx.out(`  problem: ${printable(problem)}`);
  ctx.out(
    `  ${'#'.padEnd(2)} ${'start'.padStart(9)} ${'sectors'.padStart(9)} ${'size'.padStart(10)}  type / name / GUID`,
  );
  for (const p of g.partitions)
    ctx.out(
      `  ${String(p.number).padEnd(2)} ${String(p.start).padStart(9)} ${String(p.sectors).padStart(9)} ${formatSize(p.sectors * 512).padStart(10)}  ${p.typeName ?? p.type} / ${printable(p.name)} / ${p.guid}`,
    );
  if (r.esp) {
    ctx.out(`ESP (label "${printable(r.esp.label)}"), ${r.esp.files.length} files:`);
    for (const f of r.esp.files) ctx.out(`  ${formatSize(f.size).padStart(10)}  ${printable(f.path)}`);
    for (const [path, text] of Object.entries(r.esp.loader)) {
      ctx.out(`${printable(path)}:`);
      for (const line of text.trimEnd().split('\n')) ctx.out(`  ${printable(line)}`);
    }
  }
  if (r.payload) {
    const h = r.payload.header;
    ctx.out(
      printable(
        `payload: profile ${h.profile ?? '?'}, generation ${h.generation ?? '?'}, kernel ${h.kernel ?? '?'}, ${formatSize(Number(h.payload_size ?? 0))} (${formatSize(Number(h.payload_uncompressed_size ?? 0))} unpacked), sha256 ${h.payload_sha256 ?? '?'}`,
      ),
    );
    const pins =
      r.payload.mismatched.length > 0
        ? `NOT the one pinned by ${r.payload.mismatched.map(printable).join(', ')}`
        : `pinned by ${r.payload.pinnedBy.length} boot entries`;
    const copy =
      r.payload.espCopyMatches === undefined
        ? 'no copy on the ESP'
        : r.payload.espCopyMatches
          ? 'ESP copy identical'
          : 'ESP copy DIFFERS';
    ctx.out(`  header sha256 ${r.payload.headerSha256}: ${pins}; ${copy}`);
  }
  if (r.manifest) {
    const m = r.manifest;
    const pkgs = Object.entries(m.packages)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    ctx.out(
      printable(
        `${m.file}: profile ${m.profile}, generation ${m.generation ?? '?'}, kernel ${m.kernel}, packages ${pkgs}`,
      ),
    );
  }
  if (r.sbom)
    ctx.out(
      printable(
        `${r.sbom.file}: ${r.sbom.components} packages, ${r.sbom.withLicenses} with declared licenses (${r.sbom.serialNumber})`,
      ),
    );
}
