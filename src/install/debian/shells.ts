/**
 * /etc/shells as debianutils' update-shells writes it on a first install:
 * the current file (a copy of /usr/share/debianutils/shells), then every
 * shell of the template and of /usr/share/debianutils/shells.d/*, each with
 * its /usr twin on a merged-/usr system ("/bin/bash" and "/usr/bin/bash"),
 * and the state file /var/lib/shells.state. add-shell appends after that.
 */

export interface ShellsInput {
  /** /etc/shells as the scripts left it, or undefined. */
  readonly current: string | undefined;
  /** /usr/share/debianutils/shells. */
  readonly template: string | undefined;
  /** The files of shells.d, in name order. */
  readonly packaged: readonly string[];
  /** The directory a path's directory resolves to ("/bin" → "/usr/bin"). */
  readonly realDir: (dir: string) => string;
  /** Shells add-shell was asked to add. */
  readonly added: readonly string[];
}

export function updateShells(input: ShellsInput): { shells: string; state: string } {
  const packaged: string[] = [];
  const note = (s: string) => {
    if (!packaged.includes(s)) packaged.push(s);
  };
  for (const text of [input.template ?? '', ...input.packaged]) {
    for (const raw of text.split('\n')) {
      const line = raw.split('#')[0] ?? '';
      if (line === '') continue;
      note(line);
      const slash = line.lastIndexOf('/');
      const real = `${input.realDir(slash <= 0 ? '/' : line.slice(0, slash)).replace(/\/$/, '')}/${line.slice(slash + 1)}`;
      if (real !== line) note(real);
    }
  }
  const out: string[] = [];
  const listed = new Set<string>();
  const source = input.current ?? input.template ?? '';
  for (const line of source.split('\n').slice(0, source.endsWith('\n') ? -1 : undefined)) {
    const shell = line.split('#')[0] ?? '';
    if (shell !== '' && listed.has(shell)) continue;
    out.push(line);
    if (shell !== '') listed.add(shell);
  }
  for (const shell of [...packaged, ...input.added]) {
    if (listed.has(shell)) continue;
    out.push(shell);
    listed.add(shell);
  }
  return { shells: out.map((l) => `${l}\n`).join(''), state: packaged.map((s) => `${s}\n`).join('') };
}
