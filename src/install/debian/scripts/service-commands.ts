/** systemd and sysvinit helpers: what enables a unit is recorded, what starts one now needs nothing. */
import type { Outcome } from '../shell/interpreter.js';
import { allKnown, UNKNOWN } from '../shell/value.js';
import type { Handler } from './context.js';

const OK: Outcome = { status: 0, stdout: '' };
const DONT_KNOW: Outcome = { status: UNKNOWN, stdout: UNKNOWN };
const NOW = 'acts on the running system; the installed system starts its services at boot';

/**
 * deb-systemd-helper as dh_installsystemd calls it. On a first install
 * `was-enabled` is true (its state file is missing: "was-enabled defaults to
 * true, so new installations run enable") and `debian-installed` is false.
 */
const debSystemdHelper: Handler = (inv, ctx) => {
  const args = inv.args.filter((a) => a !== '--quiet');
  const user = args[0] === '--user';
  const [action, ...units] = user ? args.slice(1) : args;
  switch (action) {
    case 'was-enabled':
      return OK;
    case 'debian-installed':
      return { status: 1, stdout: '' };
    case 'unmask':
    case 'update-state':
    case 'purge':
    case 'mask':
      return OK;
    case 'enable': {
      const names = allKnown(units);
      if (names === undefined || !inv.certain) {
        ctx.skipped(inv, 'not applied: unit or condition bootforge cannot evaluate');
        return DONT_KNOW;
      }
      for (const unit of names) ctx.units.push({ package: ctx.package, unit, user, viaHelper: true });
      ctx.done(inv, `enabled ${names.join(', ')}${user ? ' (user units)' : ''}`);
      return OK;
    }
    default:
      ctx.skipped(inv, 'not reproduced');
      return DONT_KNOW;
  }
};

const systemctl: Handler = (inv, ctx) => {
  const args = inv.args.filter(
    (a) => typeof a !== 'string' || !/^(--system|--quiet|-q|--no-reload|--root=.*)$/.test(a),
  );
  const user = args.includes('--user') || args.includes('--global');
  const rest = args.filter((a) => a !== '--user' && a !== '--global');
  const [action, ...units] = rest;
  switch (action) {
    case 'enable': {
      const names = allKnown(units);
      if (names === undefined || !inv.certain) {
        ctx.skipped(inv, 'not applied: unit or condition bootforge cannot evaluate');
        return DONT_KNOW;
      }
      for (const unit of names) ctx.units.push({ package: ctx.package, unit, user, viaHelper: false });
      ctx.done(inv, `enabled ${names.join(', ')}`);
      return OK;
    }
    case 'is-active':
    case 'is-enabled':
    case 'is-failed':
      return { status: 1, stdout: '' };
    case 'daemon-reload':
    case 'daemon-reexec':
    case 'start':
    case 'stop':
    case 'restart':
    case 'try-restart':
    case 'reload':
    case 'reload-or-restart':
    case 'try-reload-or-restart':
      ctx.done(inv, NOW);
      return OK;
    default:
      ctx.skipped(inv, 'not reproduced');
      return DONT_KNOW;
  }
};

const notNow: Handler = (inv, ctx) => {
  ctx.done(inv, NOW);
  return OK;
};

export const SERVICE_COMMANDS: Readonly<Record<string, Handler>> = {
  'deb-systemd-helper': debSystemdHelper,
  systemctl,
  'deb-systemd-invoke': notNow,
  'invoke-rc.d': notNow,
  service: notNow,
  'start-stop-daemon': notNow,
  'update-rc.d': (inv, ctx) => {
    ctx.done(inv, 'sysvinit start links; bootforge systems boot with systemd units or busybox init');
    return OK;
  },
  'runit-helper': (inv, ctx) => {
    ctx.done(inv, 'runit service links; bootforge systems do not run runit');
    return OK;
  },
};
