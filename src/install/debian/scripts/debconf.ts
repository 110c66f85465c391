/**
 * debconf as a first install without a terminal sees it: every question has
 * its template's default (or the value some script set), nothing is asked.
 * Config scripts are not run; a question whose template has no default and
 * that no script set is UNKNOWN.
 */
import type { Outcome } from '../shell/interpreter.js';
import { UNKNOWN, type Status, type Value } from '../shell/value.js';
import type { Handler, ScriptContext, Template } from './context.js';

const QUIET = new Set([
  'db_version',
  'db_capb',
  'db_title',
  'db_settitle',
  'db_input',
  'db_go',
  'db_stop',
  'db_fset',
  'db_subst',
  'db_reset',
  'db_register',
  'db_unregister',
  'db_purge',
  'db_x_loadtemplatefile',
  'db_beginblock',
  'db_endblock',
  'db_clear',
  'db_progress',
  'db_info',
  'db_data',
  'db_x_save',
  'db_capb',
  'db_x_setbackup',
]);

const ret = (value: Value, status: Status = 0): Outcome => ({
  status,
  stdout: '',
  assign: new Map<string, Value>([['RET', value]]),
});

export const DEBCONF_COMMANDS: Readonly<Record<string, Handler>> = {
  ...Object.fromEntries([...QUIET].map((n) => [n, (): Outcome => ret('')])),
  db_get: (inv, ctx) => {
    const [question] = inv.args;
    if (question === undefined || question === UNKNOWN) return ret(UNKNOWN, UNKNOWN);
    return ret(answer(ctx, question));
  },
  db_set: (inv, ctx) => {
    const [question, ...value] = inv.args;
    if (question === undefined || question === UNKNOWN) return ret(UNKNOWN, UNKNOWN);
    if (value.some((v) => v === UNKNOWN) || !inv.certain) ctx.debconf.delete(question);
    else ctx.debconf.set(question, (value as string[]).join(' '));
    return ret('');
  },
  db_fget: () => ret('false'),
  db_metaget: (inv, ctx) => {
    const [question, field] = inv.args;
    if (question === undefined || question === UNKNOWN || field === UNKNOWN) return ret(UNKNOWN, UNKNOWN);
    const t: Template | undefined = ctx.templates.get(question);
    if (t === undefined) return ret(UNKNOWN, UNKNOWN);
    const value = field === 'choices' ? t.choices : field === 'description' ? t.description : undefined;
    return ret(value ?? UNKNOWN);
  },
};

function answer(ctx: ScriptContext, question: string): Value {
  const set = ctx.debconf.get(question);
  if (set !== undefined) return set;
  return ctx.templates.get(question)?.default ?? UNKNOWN;
}

/** The templates of a package's templates file (deb822 stanzas; only the untranslated fields). */
export function parseTemplates(text: string): Template[] {
  const out: Template[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/.exec(line);
      if (m?.[1] === undefined) continue;
      last = m[1].toLowerCase();
      fields.set(last, m[2] ?? '');
    }
    const name = fields.get('template');
    if (name === undefined) continue;
    const description = fields.get('description');
    out.push({
      name,
      type: fields.get('type') ?? 'string',
      ...(fields.has('default') ? { default: fields.get('default') ?? '' } : {}),
      ...(fields.has('choices') ? { choices: fields.get('choices') ?? '' } : {}),
      ...(description !== undefined ? { description: description.split('\n')[0] ?? '' } : {}),
    });
  }
  return out;
}
