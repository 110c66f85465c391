import type { ResolvedProfile } from '../profile/resolve.js';

import type { InstallStageContext } from '../templates/contexts.js';

/** The installer stage's values: the profile's disk rule, layout and install mode. */
export function installStageContext(profile: ResolvedProfile): InstallStageContext {
  const d = profile.data;
  const t = d.disk.target;
  return {
    profile: profile.name,
    mode: d.installer.mode,
    after: d.installer.after,
    wipe: d.disk.wipe,
    espSize: d.disk.layout.esp.size,
    swapSize: d.disk.layout.swap.size,
    rootSize: d.disk.layout.root.size ?? 0,
    target: {
      byId: t.byId ?? '',
      serial: t.serial ?? '',
      wwn: t.wwn ?? '',
      model: t.model ?? '',
      transport: t.transport ?? '',
      minSize: t.minSize ?? 0,
      maxSize: t.maxSize ?? 0,
      removable: t.removable ? 'yes' : 'no',
      pick: t.pick,
    },
    hardware: {
      mode: profile.hardware.mode,
      fixed: profile.hardware.mode === 'fixed' ? profile.hardware.ids.join(',') : '',
      generic: profile.hardware.mode === 'auto' ? (profile.hardware.match?.find((m) => m.generic)?.id ?? '') : '',
      rules: (profile.hardware.match ?? []).flatMap(({ id, rules }) =>
        rules.map((rule) => ({
          id,
          // A rule's keys are DMI field names (files of /sys/class/dmi/id).
          fields: Object.entries(rule).flatMap(([field, want]: [string, string | string[] | undefined]) => {
            if (want === undefined) return [];
            // The shell matches with `case`: brackets and backslashes are literal in our globs.
            const patterns = (Array.isArray(want) ? want : [want]).map((p) => p.replace(/[[\]\\]/g, '\\$&'));
            return [{ field, patterns }];
          }),
        })),
      ),
    },
  };
}
