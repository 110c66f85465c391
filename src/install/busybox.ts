/**
 * The applets a busybox binary provides, read from the binary itself: busybox
 * keeps their names as one sorted, NUL-separated string that starts with "[" and
 * "[[" (the table `busybox --list` prints). Reading it means the build never runs a
 * program from the packages, and the links match the packaged version exactly.
 */
export function busyboxApplets(binary: Buffer): string[] {
  const start = binary.indexOf(Buffer.from('[\0[[\0', 'latin1'));
  if (start < 0) return [];
  const end = binary.indexOf(Buffer.from('\0\0', 'latin1'), start);
  const names = binary
    .subarray(start, end < 0 ? undefined : end)
    .toString('latin1')
    .split('\0');
  // The table is sorted and made of short printable names; stop at anything else.
  const out: string[] = [];
  for (const name of names) {
    if (!/^[[a-z0-9][a-z0-9._[-]*$/.test(name)) break;
    if (out.length > 0 && name <= (out[out.length - 1] ?? '')) break;
    out.push(name);
  }
  return out;
}
