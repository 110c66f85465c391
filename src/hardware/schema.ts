import { z } from 'zod';
import {
  fileMode,
  fileOwner,
  hardwareId,
  hostPath,
  kernelParam,
  moduleName,
  oneLine,
  packageName,
  targetPath,
} from '../schema/fields.js';
import { rule, show } from '../schema/rule.js';
import { GATE_PATTERN, parseGate } from './gate.js';

// The hardware description format (hardware/<id>.yaml): single source of the
// types, the runtime validation and schema/hardware.schema.json.

const gate = rule(z.string(), 'BF_VERSION_GATE', (g) =>
  parseGate(g) === undefined ? `cannot read kernel version gate ${show(g)}` : undefined,
).meta({
  pattern: GATE_PATTERN,
  description: 'Applies the quirk only to kernels in this range, e.g. "<6.8" for a workaround fixed in 6.8.',
  examples: ['<6.8', '>=6.5', '>=6.1 <6.8'],
});

// `options <module> <options>` is one line of /etc/modprobe.d: a line break would add a line
// of its own (an `install` command runs as root whenever the module loads).
const modprobeOptions = oneLine('module options').min(1);
// Globs under /lib/firmware, matched by the build: one line each, like every value printed.
const firmwareGlob = oneLine('firmware file').min(1);

/** Every quirk can say why it exists (with a link to its source) and which kernels need it. */
const why = oneLine('why').min(1).meta({
  description: 'Why this quirk exists, with a link to the bug report or vendor document.',
});
const quirkMeta = { why: why.optional(), kernel: gate.optional() };

/** A quirk written either as a bare value or as an object with why/kernel. */
function quirk<K extends string, T extends z.ZodType>(key: K, value: T) {
  return z.union([value, z.strictObject({ [key]: value, ...quirkMeta } as { [P in K]: T } & typeof quirkMeta)]);
}

const dmiGlob = oneLine('DMI pattern').min(1);
const dmiPattern = z.union([dmiGlob, z.array(dmiGlob).min(1)]).meta({
  description:
    'Glob (* and ?) over the DMI value, compared without case and surrounding spaces; a list means any of them.',
});
export const MatchRuleSchema = z.strictObject({
  sys_vendor: dmiPattern.optional(),
  product_name: dmiPattern.optional(),
  product_version: dmiPattern.optional(),
  product_family: dmiPattern.optional(),
  board_vendor: dmiPattern.optional(),
  board_name: dmiPattern.optional(),
});

export const HardwareSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: hardwareId,
    description: oneLine('description').min(1),
    match: z.array(MatchRuleSchema).default([]).meta({
      description: 'DMI rules (/sys/class/dmi/id); the description matches when any rule matches all its fields.',
    }),
    generic: z.boolean().default(false).meta({ description: 'The fallback when no other description matches.' }),
    arch: z.enum(['x86_64']).default('x86_64'),
    bootFirmware: z.enum(['uefi']).default('uefi'),
    params: z.array(quirk('value', kernelParam)).default([]).meta({ description: 'Kernel command line parameters.' }),
    initrdModules: z.array(quirk('name', moduleName)).default([]).meta({
      description: 'Modules the initrd needs to reach the root disk or the console (storage, USB, keyboard).',
    }),
    modules: z
      .array(quirk('name', moduleName))
      .default([])
      .meta({ description: 'Modules loaded at boot (/etc/modules-load.d).' }),
    blacklist: z.array(quirk('name', moduleName)).default([]).meta({ description: 'Modules never to load.' }),
    modprobe: z
      .array(z.strictObject({ module: moduleName, options: modprobeOptions, ...quirkMeta }))
      .default([])
      .meta({ description: 'Module options (/etc/modprobe.d/bootforge-<id>.conf).' }),
    firmware: z
      .array(z.strictObject({ package: packageName, files: z.array(firmwareGlob).default(['**']), ...quirkMeta }))
      .default([])
      .meta({ description: 'Firmware files (globs under /lib/firmware) and the Debian package that ships them.' }),
    packages: z.array(quirk('name', packageName)).default([]),
    files: z
      .array(
        z.strictObject({
          path: targetPath,
          content: z.string().optional(),
          source: hostPath.optional(),
          mode: fileMode.default('0644'),
          owner: fileOwner.default('root:root'),
          ...quirkMeta,
        }),
      )
      .default([])
      .meta({ description: 'Files such as udev rules and hwdb entries.' }),
  })
  .meta({ title: 'bootforge hardware description' });

export type HardwareSpec = z.input<typeof HardwareSchema>;
export type HardwareData = z.output<typeof HardwareSchema>;
export type MatchRule = z.output<typeof MatchRuleSchema>;
