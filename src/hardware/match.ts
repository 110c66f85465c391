import type { HardwareDescription } from './catalog.js';
import type { MatchRule } from './schema.js';

/** The DMI strings the kernel exports under /sys/class/dmi/id. */
export interface DmiInfo {
  readonly sys_vendor?: string;
  readonly product_name?: string;
  readonly product_version?: string;
  readonly product_family?: string;
  readonly board_vendor?: string;
  readonly board_name?: string;
  readonly product_serial?: string;
}

export const DMI_FIELDS = [
  'sys_vendor',
  'product_name',
  'product_version',
  'product_family',
  'board_vendor',
  'board_name',
] as const;

// Vendors spell themselves differently across models and BIOS versions
// ("LENOVO"/"Lenovo", "Dell Inc."/"Dell Inc", "Hewlett-Packard"/"HP").
const CORPORATE_WORDS =
  /\b(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|gmbh|ag|sa|bv|technologies|technology|computer|computers)\b/g;
const VENDOR_ALIASES: Record<string, string> = {
  'hewlett packard': 'hp',
  'framework computer': 'framework',
  'micro star international': 'msi',
};

export function normalizeDmi(field: string, value: string): string {
  let v = value.toLowerCase().replace(/\s+/g, ' ').trim();
  if (field === 'sys_vendor' || field === 'board_vendor') {
    v = v
      .replace(/[.,\-_]/g, ' ')
      .replace(CORPORATE_WORDS, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    v = VENDOR_ALIASES[v] ?? v;
  }
  return v;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function globMatches(field: string, pattern: string, value: string): boolean {
  return globToRegExp(normalizeDmi(field, pattern)).test(normalizeDmi(field, value));
}

/** How many fields of the rule matched (its specificity), or 0 when any field failed. */
export function ruleScore(rule: MatchRule, dmi: DmiInfo): number {
  let score = 0;
  for (const field of DMI_FIELDS) {
    const want = rule[field];
    if (want === undefined) continue;
    const have = dmi[field];
    if (have === undefined) return 0;
    const patterns = Array.isArray(want) ? want : [want];
    if (!patterns.some((p) => globMatches(field, p, have))) return 0;
    score++;
  }
  return score;
}

export interface MatchResult {
  readonly description: HardwareDescription;
  readonly score: number;
  readonly rule: number;
}

/** Matching descriptions, most specific first. */
export function matchAll(candidates: readonly HardwareDescription[], dmi: DmiInfo): MatchResult[] {
  const out: MatchResult[] = [];
  for (const description of candidates) {
    let best: MatchResult | undefined;
    description.data.match.forEach((rule, i) => {
      const score = ruleScore(rule, dmi);
      if (score > 0 && (!best || score > best.score)) best = { description, score, rule: i };
    });
    if (best) out.push(best);
  }
  return out.sort((a, b) => b.score - a.score || (a.description.id < b.description.id ? -1 : 1));
}
