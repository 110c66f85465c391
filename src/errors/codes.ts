/**
 * The catalogue of error codes. A code is permanent once released: users grep
 * for it, and docs/troubleshooting.md is generated from this list
 * (npx tsx scripts/write-docs.ts).
 * `kind: 'input'` exits 2 (fix your profile or arguments); `failure` exits 1.
 */
/** One entry of the catalogue. */
export interface CatalogueEntry {
  readonly kind: 'input' | 'failure';
  readonly title: string;
  /** Printed under the message unless the error gives its own. */
  readonly hint: string | undefined;
  /** For docs/troubleshooting.md: what the error means and what usually causes it. */
  readonly explain?: string;
  /** For docs/troubleshooting.md: what to do, where the hint alone does not say it. */
  readonly fix?: string;
  /** For docs/troubleshooting.md: a typical message, for codes that no test/fixtures/invalid case shows. */
  readonly example?: string;
}

export const CATALOGUE = {
  BF_USAGE: {
    kind: 'input',
    title: 'Bad command-line usage',
    hint: 'run the command with --help to see its arguments',
    explain:
      'The command line does not fit the command: an unknown option, a missing or extra argument, or two options that exclude each other. Nothing was read or written.',
  },
  BF_FILE_NOT_FOUND: {
    kind: 'input',
    title: 'A file named on the command line or in a profile does not exist',
    hint: undefined,
    explain:
      "A path given on the command line, or in a profile (extends, a file's source:, a keyring, hashedPasswordFile), does not exist. Paths inside a profile are relative to that profile's folder, not to the current directory.",
    fix: "Check the spelling and where the path is relative to: the command line is relative to the current directory, a profile's paths to the profile's own folder.",
  },
  BF_YAML_SYNTAX: {
    kind: 'input',
    title: 'The YAML cannot be parsed',
    hint: 'check indentation and quoting near the marked position',
    explain:
      'The file is not valid YAML, so bootforge cannot read it at all. The code frame marks where the parser gave up, which is often the line after the real mistake (a missing colon, a tab, an unclosed quote).',
  },
  BF_YAML_DUPLICATE_KEY: {
    kind: 'input',
    title: 'A key appears twice in the same mapping',
    hint: 'remove one of the two; bootforge will not guess which one you meant',
    explain:
      'One mapping sets the same key twice. Most YAML readers silently keep the last one; bootforge refuses, because the first one is usually the one you meant.',
  },
  BF_UNKNOWN_KEY: {
    kind: 'input',
    title: 'A key that the format does not define',
    hint: 'see schema/*.schema.json or the README for the allowed keys',
    explain:
      'The file has a key the profile or hardware format does not define, most often a typo or a key from another nesting level. The message suggests the closest allowed key when there is one.',
  },
  BF_TYPE: {
    kind: 'input',
    title: 'A value of the wrong type',
    hint: undefined,
    explain:
      'A value has the wrong YAML type: a string where a list is expected, a number where a string is expected, a mapping where a scalar is expected. Quote values that YAML would otherwise read as numbers or booleans ("0644", "yes").',
    fix: 'Give the type the message names. Quote strings that YAML reads as another type ("0644", "on", "1.10"); write lists as `- item` lines or `[a, b]`.',
  },
  BF_REQUIRED: {
    kind: 'input',
    title: 'A required key is missing',
    hint: undefined,
    explain: "A key that has no default is missing (for example the profile's name).",
    fix: 'Add the key the message names; schema/profile.schema.json lists every required key.',
  },
  BF_ENUM: {
    kind: 'input',
    title: 'A value outside the allowed set',
    hint: undefined,
    explain: 'The value is not one of the few the field allows; the message lists them.',
    fix: 'Use one of the values the message lists.',
  },
  BF_INVALID_VALUE: {
    kind: 'input',
    title: 'A value that breaks a rule of its field',
    hint: undefined,
    explain:
      'The value has the right type but breaks a rule of its field (a range, a format, a combination with another field); the message says which rule.',
    fix: 'Change the value so it fits the rule the message states.',
  },
  BF_PROFILE_NAME: {
    kind: 'input',
    title: 'A profile name that cannot name files and boot entries',
    hint: 'use lower-case letters, digits, "-", "_" and "."',
    explain:
      "The profile's name becomes part of file names (out/<name>/) and boot entries, so it is limited to characters that are safe in both.",
  },
  BF_HOSTNAME: {
    kind: 'input',
    title: 'A host name that RFC 1123 does not allow',
    hint: 'use letters, digits and "-" in labels of at most 63 characters, separated by "."; {{serial}}, {{vendor}} and {{product}} stand for DMI values',
    explain:
      'system.hostname must be a valid RFC 1123 host name after the DMI placeholders are filled in. bootforge checks it at build time because the installed system would otherwise start with a broken or dangerous name.',
  },
  BF_TIMEZONE: {
    kind: 'input',
    title: 'An unknown time zone',
    hint: 'use an IANA name such as Europe/Berlin or Etc/UTC (see timedatectl list-timezones)',
    explain: "system.timezone names no zone in the IANA time zone database that the target's tzdata ships.",
  },
  BF_LOCALE: {
    kind: 'input',
    title: 'A locale name in the wrong form',
    hint: 'use language_COUNTRY.UTF-8 (e.g. en_US.UTF-8) or C.UTF-8',
    explain: 'A locale name is not of the form language_COUNTRY.CHARSET, so it cannot be compiled or set.',
  },
  BF_USERNAME: {
    kind: 'input',
    title: 'A user or group name that Debian does not allow',
    hint: 'start with a lower-case letter; then lower-case letters, digits, "_" or "-"; at most 32 characters',
    explain:
      "A user or group name breaks Debian's rules for account names (adduser's NAME_REGEX), which the installed system would refuse.",
  },
  BF_RESERVED_UID: {
    kind: 'input',
    title: 'A uid or gid in a range Debian reserves',
    hint: 'regular users take uids 1000-59999 (Debian policy 9.2.2); omit uid to let bootforge allocate one',
    explain:
      'A uid or gid lies in a range Debian reserves for the system (0-999) or for packages and dynamic allocation (60000 and up).',
  },
  BF_DUPLICATE_ID: {
    kind: 'input',
    title: 'Two users or groups share one id',
    hint: 'give each account its own uid/gid, or omit uid to let bootforge allocate one',
    explain:
      'Two accounts in the profile (or in the profiles it extends) ask for the same uid or gid; they would share files.',
  },
  BF_PLAINTEXT_PASSWORD: {
    kind: 'input',
    title: 'A password in clear text',
    hint: 'store a hash instead: mkpasswd -m yescrypt (package whois) prints one; or use hashedPasswordFile',
    explain:
      'A password field holds clear text. Profiles are committed and shared, so bootforge accepts only crypt(3) hashes or a file that holds one.',
  },
  BF_PASSWORD_HASH: {
    kind: 'input',
    title: 'A password hash of an unsupported or weak kind',
    hint: 'use yescrypt ($y$) or sha512-crypt ($6$): mkpasswd -m yescrypt',
    explain: "A password hash uses a scheme that is weak (DES, MD5) or that the target's PAM cannot check.",
  },
  BF_SSH_KEY: {
    kind: 'input',
    title: 'A malformed SSH public key',
    hint: 'paste one line of ~/.ssh/id_ed25519.pub: "ssh-ed25519 AAAA... comment"',
    explain:
      'An entry of authorizedKeys is not one OpenSSH public key line (type, base64 key, optional comment); a private key or a key split over lines gives this error too.',
  },
  BF_RELATIVE_PATH: {
    kind: 'input',
    title: 'A path that must be absolute is relative',
    hint: 'target paths start with "/"',
    explain: 'A path on the target system (a file\'s path:, a mount point) is relative; it must start with "/".',
  },
  BF_PATH_TRAVERSAL: {
    kind: 'input',
    title: 'A path with "." or ".." components',
    hint: 'write the path in normal form, without "." or ".." components',
    explain:
      'A path contains "." or ".." components, so where it lands would depend on how it is resolved. bootforge wants every target path in normal form.',
  },
  BF_MODE: {
    kind: 'input',
    title: 'A file mode that is not an octal string',
    hint: 'quote it as an octal string, e.g. mode: "0644" (YAML reads an unquoted 0644 as decimal 644)',
    explain:
      'A file mode is not an octal string. YAML reads an unquoted 0644 as the number 644, which is a different mode, so bootforge asks for a quoted string.',
  },
  BF_OWNER: {
    kind: 'input',
    title: 'A file owner not of the form user or user:group',
    hint: 'write owner: root:root, or a user the profile defines',
    explain:
      "A file's owner is not user or user:group, or names an account that neither the profile nor the packages define.",
  },
  BF_FILE_SOURCE: {
    kind: 'input',
    title: 'A file entry needs exactly one of content and source',
    hint: 'give content: for inline text, or source: for a file next to the profile',
    explain: 'A files: entry gives both content: and source:, or neither; each file needs exactly one.',
  },
  BF_SIZE: {
    kind: 'input',
    title: 'A size that cannot be read',
    hint: 'write a number with a unit: 512MiB, 20GiB, 20G (= GiB), 1TB (= 10^12 bytes)',
    explain: 'A size (a partition, a disk, a limit) is not a number followed by a known unit.',
  },
  BF_SHELL_META: {
    kind: 'input',
    title: 'Shell metacharacters where the value cannot be data',
    hint: 'names of packages, modules, services and kernel parameters cannot contain ; | & $ ` < > \\ quotes or newlines',
    explain:
      'A name that ends up in scripts or on the kernel command line (a package, module, service, kernel parameter) contains characters a shell would interpret. bootforge refuses them instead of quoting, since no real name needs them.',
  },
  BF_PACKAGE_NAME: {
    kind: 'input',
    title: 'A Debian package name that policy does not allow',
    hint: 'package names are lower-case letters, digits, "+", "-" and "." (Debian policy 5.6.1)',
    explain: 'A package name in the profile cannot be a Debian package name.',
  },
  BF_VERSION_GATE: {
    kind: 'input',
    title: 'A kernel version gate that cannot be read',
    hint: 'write comparisons like "<6.8", ">=6.5", or ">=6.1 <6.8"',
    explain:
      'A kernel version gate (the `kernel:` condition of a hardware quirk) is not a list of comparisons with versions.',
  },
  BF_HARDWARE_MATCH: {
    kind: 'input',
    title: 'A hardware match rule that matches nothing or everything',
    hint: 'give at least one DMI field: sys_vendor, product_name, product_version or board_name',
    explain:
      "A hardware description's match block has no DMI field, or only patterns that match every machine, so the description would apply everywhere.",
  },
  BF_HARDWARE_ID: {
    kind: 'input',
    title: "A hardware description's id differs from its file name",
    hint: 'name the file <id>.yaml',
    explain:
      "A hardware description's id: differs from its file name; bootforge finds descriptions by file name, so the two must agree.",
  },
  BF_UNKNOWN_HARDWARE: {
    kind: 'input',
    title: 'A hardware id that no description has',
    hint: 'bootforge hardware list shows the known ids',
    explain:
      "The profile's hardware: (or --hardware) names an id that no bundled or local description has. The message suggests the closest known id.",
  },
  BF_SYSFS: {
    kind: 'input',
    title: 'A sysfs folder or snapshot (bootforge hardware detect --sysfs) that is missing or cannot be read',
    hint: 'pass the sysfs root (/sys) or a snapshot folder with the same layout',
    explain:
      'bootforge hardware detect was pointed at a folder that is not a sysfs tree or snapshot (no class/dmi/id), or the folder cannot be read.',
  },
  BF_EXTENDS_MISSING: {
    kind: 'input',
    title: 'extends names a profile that does not exist',
    hint: 'extends takes a path relative to the profile, or the name of a profile in the same folder',
    explain:
      'extends: names a profile that is neither a path relative to the profile nor a profile in the same folder.',
  },
  BF_EXTENDS_CYCLE: {
    kind: 'input',
    title: 'Profiles extend each other in a cycle',
    hint: 'remove one extends link of the cycle',
    explain: 'Following extends: leads back to a profile already on the way; the message prints the cycle.',
  },
  BF_MERGE_CONFLICT: {
    kind: 'input',
    title: 'Two files set one value differently',
    hint: 'remove one of them, or mark the winning value with !override (or the weaker one with !default)',
    explain:
      'Two profiles in an extends chain set one value to different things and neither is marked as the winner. bootforge does not pick silently; the message shows both places.',
  },
  BF_NO_MIRROR: {
    kind: 'input',
    title: 'No Debian mirror is configured for a suite',
    hint: 'pass --mirror, set BOOTFORGE_MIRROR or packages.mirror, or configure apt on the build host',
    explain:
      "No mirror is known for a suite the profile uses. bootforge takes it from --mirror, BOOTFORGE_MIRROR, packages.mirror, or the build host's own apt sources, in that order.",
  },
  BF_NO_KEYRING: {
    kind: 'input',
    title: 'No OpenPGP keyring to verify a repository with',
    hint: 'pass --keyring, set packages.keyring, or install debian-archive-keyring',
    explain:
      "bootforge verifies every repository's InRelease signature and found no keyring to check it with: none given, and the build host has no debian-archive-keyring.",
    example:
      'BF_NO_KEYRING: no keyring to verify suite bookworm with\nhint: pass --keyring <file>, set BOOTFORGE_KEYRING or packages.keyring, or install debian-archive-keyring (/usr/share/keyrings/debian-archive-keyring.gpg)',
  },
  BF_BAD_KEYRING: {
    kind: 'input',
    title: 'A keyring file holds no readable OpenPGP keys',
    hint: 'give a binary keyring (.gpg) or an armored key block (.asc)',
    explain:
      'A keyring file exists but holds no OpenPGP public key bootforge can read (an empty file, a private key, a text file).',
  },
  BF_REPO_SIGNATURE: {
    kind: 'failure',
    title: "A repository's InRelease is not validly signed by a trusted key",
    hint: 'check the keyring and the mirror; --insecure skips this check (hashes are still verified)',
    explain:
      "A repository's InRelease is not a single clearsigned message signed by a key in the keyring. Either the keyring is wrong for this repository (a third-party repository, a new Debian release key), or what was downloaded is not what the archive signed.",
    example:
      'BF_REPO_SIGNATURE: <mirror>/dists/bookworm/InRelease has no valid signature from a key in the keyring\nhint: signatures seen: key 6ED0E7B82643E131 is not in the keyring. Check --keyring / Signed-By, or the mirror',
  },
  BF_REPO_EXPIRED: {
    kind: 'failure',
    title: "A repository's Release is past its Valid-Until date, or dated in the future",
    hint: 'use an up-to-date mirror and check the clock',
    explain:
      "A Release file's Valid-Until date has passed (a stale mirror, or a replayed old index), or its Date lies in the future (a wrong clock on the build host).",
    example:
      'BF_REPO_EXPIRED: <mirror>/dists/bookworm-security/InRelease expired at Sat, 01 Mar 2025 00:00:00 GMT (Valid-Until); it is now Mon, 03 Mar 2025 09:12:44 GMT\nhint: use an up-to-date mirror and check the clock',
  },
  BF_REPO_INDEX: {
    kind: 'failure',
    title: 'A repository index is missing, malformed, or does not match its hash',
    hint: 'the mirror may be syncing or tampered with; retry, or use another mirror',
    explain:
      'A Packages index that the signed Release lists is missing, cannot be decompressed, or does not parse. Mirrors in the middle of a sync show this briefly.',
    example:
      'BF_REPO_INDEX: suite bookworm has no Packages index for main/amd64 in its Release\nhint: the mirror may be syncing or tampered with; retry, or use another mirror',
  },
  BF_FETCH: {
    kind: 'failure',
    title: 'A download failed',
    hint: 'check the network and the mirror',
    explain:
      "A download failed after bootforge's retries: no network, a proxy, a DNS failure, or an HTTP error from the mirror.",
    example:
      'BF_FETCH: cannot fetch <mirror>/pool/main/l/linux-signed-amd64/linux-image-6.1.0-28-amd64_6.1.119-1_amd64.deb: HTTP 404 Not Found\nhint: check the network and the mirror; downloads are retried with backoff before giving up',
  },
  BF_HASH_MISMATCH: {
    kind: 'failure',
    title: 'Downloaded bytes do not match the SHA-256 their signed index promised',
    hint: 'the mirror served something else than the signed index describes',
    explain:
      'A downloaded index or package does not have the size and SHA-256 that the signed index promised. bootforge refuses it; nothing unverified reaches the cache.',
    example:
      'BF_HASH_MISMATCH: <mirror>/pool/main/b/busybox/busybox_1.35.0-4+b3_amd64.deb does not match its signed index: got 412716 bytes with SHA-256 5f1c..., expected 412716 bytes with 9a07...\nhint: the mirror served something else than the signed index describes',
  },
  BF_PACKAGE_NOT_FOUND: {
    kind: 'input',
    title: 'A package that no configured suite has',
    hint: 'check the name, the suites and the components',
    explain:
      'A package named in the profile (or a hardware description) is in none of the configured suites and components, for this architecture.',
  },
  BF_PACKAGE_UNSATISFIABLE: {
    kind: 'input',
    title: 'A dependency that no available version satisfies',
    hint: 'add a suite with a fitting version, or relax the constraint',
    explain:
      'The resolver found no version that satisfies a dependency or a version constraint; the message shows the chain of packages that led to it.',
  },
  BF_PACKAGE_CONFLICT: {
    kind: 'input',
    title: 'Packages in one closure conflict with or break each other',
    hint: 'remove one of them from the profile',
    explain:
      'Two packages of the closure declare Conflicts or Breaks against each other, so they cannot be installed together.',
  },
  BF_LOCK_STALE: {
    kind: 'input',
    title: 'The lock file does not match the profile, or cannot be read',
    hint: 'run bootforge lock <profile> to update it',
    explain:
      "The profile's lock file pins a closure that no longer matches the profile (a package added or removed), or the lock file cannot be read. Builds with a lock file never change versions silently.",
  },
  BF_BAD_DEB: {
    kind: 'failure',
    title: 'A package file is not a valid .deb, or uses a format bootforge does not read',
    hint: 'the download may be truncated or corrupt; delete it from the cache and retry',
    explain:
      'A cached or downloaded .deb is not an ar archive with the members dpkg expects, or uses a compression bootforge does not read.',
    example:
      'BF_BAD_DEB: busybox_1.35.0-4+b3_amd64.deb: data.tar member is truncated\nhint: the download may be truncated or corrupt; delete it from the cache and retry',
  },
  BF_MODULE_NOT_FOUND: {
    kind: 'input',
    title: 'A kernel module that the kernel package neither ships nor builds in',
    hint: 'check the name (modinfo -n NAME on a machine with this kernel), or add the package that ships it',
    explain:
      'A kernel module named in the profile or a hardware description is neither a .ko file of the installed kernel nor listed in its modules.builtin.',
  },
  BF_BINARY_NOT_FOUND: {
    kind: 'failure',
    title: 'A program for the initrd, or a library it needs, is not in the package tree',
    hint: 'add the Debian package that ships it to the profile',
    explain:
      'A program the initrd needs, or a shared library one of its programs links against, is not in the files of the resolved packages.',
    example:
      'BF_BINARY_NOT_FOUND: cryptsetup: library libargon2.so.1, needed by /usr/sbin/cryptsetup, is not in the package tree (searched /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu)\nhint: add the Debian package that ships libargon2.so.1 to the profile',
  },
  BF_BAD_ELF: {
    kind: 'failure',
    title: 'A file that should be an ELF object (program, library, kernel module) is malformed or of another kind',
    hint: 'the package may be corrupt: delete it from the cache and retry',
    explain:
      'A file that should be an ELF program, library or kernel module is malformed, built for another machine, or a module has no .modinfo.',
    example:
      'BF_BAD_ELF: /usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4/ext4.ko: has no .modinfo section\nhint: the package may be corrupt: delete it from the cache and retry',
  },
  BF_UNSAFE_ARCHIVE: {
    kind: 'failure',
    title: 'A package archive holds an entry that would escape the tree',
    hint: 'no Debian package needs this; the package or the mirror may be malicious',
    explain:
      'A package\'s data archive contains an entry with an absolute name, ".." components, or a link that points out of the tree. bootforge extracts without root and never follows such entries.',
    example:
      'BF_UNSAFE_ARCHIVE: evil_1.0_amd64.deb: entry "../../etc/passwd" leaves the tree\nhint: no Debian package needs this; the package or the mirror may be malicious',
  },
  BF_PATH_CONFLICT: {
    kind: 'failure',
    title: 'Two entries of the file tree cannot share a path (a directory and a file, or a file as a parent)',
    hint: 'the packages conflict; remove one of them from the profile',
    explain:
      "Two packages (or a package and the profile's files) put different kinds of entries at one path, such as a directory and a file.",
    example:
      'BF_PATH_CONFLICT: usrmerge-test_1.0_all.deb: /bin is a directory in libc6 and a symlink here\nhint: the packages conflict; remove one of them from the profile',
  },
  BF_IMAGE_LAYOUT: {
    kind: 'failure',
    title: 'A disk layout that cannot be written: partitions overlap or do not fit, or an entry is malformed',
    hint: 'make the disk larger or the partitions smaller; at most 128 partitions, names of at most 36 UTF-16 code units',
    explain:
      'The disk layout cannot be written as a GPT: partitions overlap, do not fit the disk, or an entry is malformed.',
    example:
      'BF_IMAGE_LAYOUT: disk layout: partition payload (131072000 bytes) ends after the last usable sector of a 134217728-byte disk\nhint: make the disk larger or the partitions smaller; at most 128 partitions, names of at most 36 UTF-16 code units',
  },
  BF_BMAP: {
    kind: 'failure',
    title: 'A block map (.bmap) is malformed, or does not match its own checksum or its image',
    hint: 'regenerate the image and its .bmap together; a .bmap belongs to exactly one image file',
    explain:
      'A .bmap block map is malformed, its own checksum does not match, or it describes another image than the one next to it. When bootforge flash finds an image range that no longer matches its bmap, it has already written the data but not the partition tables: the devices are left with none (their old ones were cleared first) and do not boot.',
    example:
      "BF_BMAP: out/minimal/installer.img.bmap: image size 157286400 differs from the file's 164626432 bytes\nhint: regenerate the image and its .bmap together; a .bmap belongs to exactly one image file",
  },
  BF_FAT_TOO_LARGE: {
    kind: 'failure',
    title: 'A file of 4 GiB or more, which FAT32 cannot store (4 GiB - 1 bytes at most)',
    hint: 'keep the file off the FAT volume (the ESP), or split it into parts below 4 GiB',
    explain: 'A file meant for a FAT32 volume (the ESP) is 4 GiB or larger, which FAT32 cannot store.',
    example:
      'BF_FAT_TOO_LARGE: "/payload.bin" is 4294967296 bytes; FAT32 stores files of at most 4294967295 bytes (4 GiB - 1)\nhint: keep the file off the FAT volume (the ESP), or split it into parts below 4 GiB',
  },
  BF_FAT_FULL: {
    kind: 'failure',
    title: 'The files do not fit in the FAT32 volume',
    hint: 'make the volume (the ESP) at least as large as the message says, or put fewer files on it',
    explain:
      'The files for the ESP need more clusters than the volume has. The message says how large a volume would hold them.',
    example:
      'BF_FAT_FULL: the files and directories need 70211 clusters of 512 bytes, the volume of 33554432 bytes has 65536; a volume of 36700160 bytes (35.0 MiB) holds them\nhint: make the volume (the ESP) at least as large as the message says, or put fewer files on it',
  },
  BF_FAT_TOO_SMALL: {
    kind: 'failure',
    title: 'A volume too small for FAT32, which needs 65525 clusters (33 MiB) at least',
    hint: 'UEFI firmware reads the ESP as FAT32: give it at least 33 MiB',
    explain:
      'The volume is too small to be FAT32 at all. UEFI firmware reads the ESP as FAT32, and FAT32 needs at least 65525 clusters.',
    example:
      'BF_FAT_TOO_SMALL: 16777216 bytes give fewer than 65525 clusters, so the volume could not be FAT32; it needs 34603008 bytes at least\nhint: UEFI firmware reads the ESP as FAT32: give it at least 33 MiB',
  },
  BF_FAT_PATH: {
    kind: 'failure',
    title: 'A path that a FAT file system cannot store',
    hint: 'FAT names are case-insensitive, at most 255 UTF-16 code units, free of " * / : < > ? \\ | and control characters, and do not end in a space or a dot',
    explain:
      'A path cannot be stored on FAT: a forbidden character, a name ending in a space or dot, two names that differ only in case, or a path that is too long.',
    example:
      'BF_FAT_PATH: "loader/entries/a:b.conf" contains ":", which FAT cannot store\nhint: FAT names are case-insensitive, at most 255 UTF-16 code units, free of " * / : < > ? \\ | and control characters, and do not end in a space or a dot',
  },
  BF_FAT_INVALID: {
    kind: 'failure',
    title: 'A volume that is not a readable FAT32 file system',
    hint: 'check that the offset points at the start of the FAT32 partition; fsck.fat -n -v shows what is wrong',
    explain:
      'bootforge tried to read a FAT32 volume (an ESP inside an image) and found no valid FAT32 boot sector or structures at that offset.',
    example:
      'BF_FAT_INVALID: out/minimal/installer.img at offset 1048576: boot sector has no 0x55AA signature\nhint: check that the offset points at the start of the FAT32 partition; fsck.fat -n -v shows what is wrong',
  },
  BF_TOOL_MISSING: {
    kind: 'failure',
    title: 'A host tool bootforge needs for this command is not installed',
    hint: 'install the Debian package the message names',
    explain:
      'A command needs a program on the build host (QEMU, OVMF, sfdisk, mkfs tools, localedef) that is not installed. bash scripts/setup-host.sh installs all of them on Debian and Ubuntu. Tool paths can be overridden by environment variables (see the README).',
    example: 'BF_TOOL_MISSING: qemu-system-x86_64 is not installed\nhint: install it: apt-get install qemu-system-x86',
  },
  BF_TOOL_FAILED: {
    kind: 'failure',
    title: 'A host tool failed',
    hint: undefined,
    explain:
      'A host program bootforge ran exited with an error. The message shows the exact command line and its standard error.',
    example:
      'BF_TOOL_FAILED: sfdisk --no-reread --no-tell-kernel out/minimal/test/target.img exited with 1: sfdisk: cannot open out/minimal/test/target.img: Permission denied',
    fix: "Read the tool's own error in the message. Run the same command by hand to see all of its output; --debug shows where bootforge called it.",
  },
  BF_QEMU_TIMEOUT: {
    kind: 'failure',
    title: 'A QEMU guest did not reach an expected point in time',
    hint: 'read the serial log the message names',
    explain:
      'A QEMU guest did not print the expected console line in time. Under TCG (no KVM) everything is 5-20 times slower, so the most common cause is a slow runner; otherwise the serial log shows where the boot stopped.',
    example:
      'BF_QEMU_TIMEOUT: the guest stopped before printing the kernel banner\nhint: serial log: out/minimal/test/install.log\nlast lines:\n...',
  },
  BF_BOOT_TEST: {
    kind: 'failure',
    title: 'A boot test failed: the installer, the installed system, one of its checks or a profile test',
    hint: 'the message names the failing step; read the serial log it names',
    explain:
      "bootforge test failed at one of its steps: the install, the first boot of the installed system, a built-in check, or one of the profile's tests. The message names the step; the hint names the serial log, which holds everything the guest printed.",
    example:
      'BF_BOOT_TEST: boot: the kernel panicked: Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\nhint: last lines:\n...\nserial log: out/minimal/test/boot.log',
  },
  BF_KERNEL_NOT_FOUND: {
    kind: 'input',
    title: 'The kernel package yields no kernel, or several',
    hint: 'kernel.package must name one kernel image package, e.g. linux-image-amd64',
    explain:
      'kernel.package resolves to no /boot/vmlinuz-* file, or to several (a metapackage and a second kernel image).',
  },
  BF_TEMPLATE: {
    kind: 'failure',
    title: 'A template is unsafe, or cannot be rendered with the values given to it',
    hint: 'templates ship with bootforge: please report it with the output of --debug',
    explain:
      'A template that ships with bootforge was given a value it refuses to render (a NUL byte, a non-string) or a template is missing. This is a bug in bootforge or an unusual profile value reaching a script.',
    example:
      'BF_TEMPLATE: stage-install.sh: shellQuote refuses a value with a NUL byte: no shell word can hold one\nhint: templates ship with bootforge: please report it with the output of --debug',
  },
  BF_CPIO_ENTRY: {
    kind: 'failure',
    title: 'A file-tree entry cannot go into an initramfs cpio archive as the kernel would read it',
    hint: 'the message names the entry and the limit it breaks (newc fields, PATH_MAX, parents that are not directories)',
    explain:
      'A file-tree entry cannot be written into an initramfs (cpio newc) as the kernel would unpack it: a path longer than PATH_MAX, a field that overflows, a parent that is not a directory.',
    example:
      'BF_CPIO_ENTRY: initramfs entry "usr/lib/x" has a parent that is not a directory\nhint: the message names the entry and the limit it breaks (newc fields, PATH_MAX, parents that are not directories)',
  },
  BF_INITRD_FORMAT: {
    kind: 'failure',
    title: 'An initrd is malformed: a segment, its compression or a cpio header cannot be read as the kernel would',
    hint: 'check that the file is an initramfs (cpio newc, plain or compressed with gzip, zstd or xz) and is not truncated',
    explain:
      'An initrd given to bootforge initrd inspect, or read back from an image, is not a sequence of cpio newc segments (plain, gzip, zstd or xz) that the kernel could unpack, or is truncated.',
    example:
      'BF_INITRD_FORMAT: out/minimal/initrd.img: segment 2 at offset 59392: zstd frame is truncated\nhint: check that the file is an initramfs (cpio newc, plain or compressed with gzip, zstd or xz) and is not truncated',
  },
  BF_FLASH_NOT_DEVICE: {
    kind: 'input',
    title: 'A flash target is not a whole block device (a regular file, a partition, something else)',
    hint: 'name a whole disk such as /dev/sdb (lsblk lists them); a regular file is accepted only with --allow-file',
    explain:
      'bootforge flash writes whole block devices. It refused a target that is a regular file (accepted only with --allow-file), a partition (/dev/sdb1 instead of /dev/sdb), a path that does not exist, or another kind of file. Nothing was written.',
  },
  BF_FLASH_FIXED: {
    kind: 'input',
    title: 'A flash target is not a removable device (it may be a system disk)',
    hint: 'check the model and serial with lsblk -o NAME,MODEL,SERIAL,TRAN,RM; pass --allow-fixed if it is the disk you mean',
    explain:
      'sysfs says the target is not removable (its removable flag is 0): an internal SATA or NVMe disk, or a USB disk enclosure that reports itself as fixed. bootforge refuses it so a typo in the device name cannot wipe a system disk. Nothing was written.',
    example:
      'BF_FLASH_FIXED: /dev/sda (sda): is not removable (sata, Samsung SSD 870, 465.8 GiB): it may be a system disk\nhint: check it with lsblk -o NAME,MODEL,SERIAL,TRAN,RM,SIZE; pass --allow-fixed if /dev/sda is the disk you mean',
  },
  BF_FLASH_MOUNTED: {
    kind: 'input',
    title: 'A flash target, or one of its partitions, is mounted',
    hint: 'unmount it first (umount /dev/sdX1 ...), or pick another device',
    explain:
      'The target or one of its partitions appears in /proc/self/mountinfo (a desktop often mounts a stick when it is plugged in). Writing under a mounted file system corrupts both. Nothing was written.',
    example:
      'BF_FLASH_MOUNTED: /dev/sdb (sdb): is mounted: /dev/sdb1 on /media/user/STICK\nhint: unmount it first: umount /media/user/STICK',
  },
  BF_FLASH_SWAP: {
    kind: 'input',
    title: 'A flash target, or one of its partitions, is in use as swap',
    hint: 'swapoff it first, or pick another device',
    explain: 'The target or one of its partitions is listed in /proc/swaps. Nothing was written.',
    example: 'BF_FLASH_SWAP: /dev/sdb (sdb): is in use as swap: /dev/sdb2\nhint: swapoff /dev/sdb2',
  },
  BF_FLASH_HOLDERS: {
    kind: 'input',
    title: 'A flash target is held by another block device (device-mapper, RAID, LVM)',
    hint: 'stop what holds it (dmsetup remove, mdadm --stop, vgchange -an) or pick another device',
    explain:
      'sysfs lists holders for the target or its partitions (holders/ folders): a device-mapper volume (LVM, LUKS) or an md RAID is built on it. Nothing was written.',
    example:
      'BF_FLASH_HOLDERS: /dev/sdb (sdb): is held by other block devices: dm-0 holds sdb1\nhint: stop what holds it (dmsetup remove, mdadm --stop, vgchange -an) or pick another device',
  },
  BF_FLASH_BUSY: {
    kind: 'input',
    title: 'A flash target cannot be opened exclusively: something else uses it',
    hint: 'find the user with fuser -v or lsof on the device, stop it, and try again',
    explain:
      'The kernel refused to open the target exclusively (O_EXCL gave EBUSY) although it is not mounted, swap or held: another program has claimed it. Nothing was written.',
    example:
      'BF_FLASH_BUSY: /dev/sdb (sdb): cannot be opened exclusively (EBUSY): another program or the kernel uses it\nhint: find the user with fuser -v or lsof on the device, stop it, and try again',
  },
  BF_FLASH_PERMISSION: {
    kind: 'input',
    title: 'A flash target cannot be opened for writing: permission denied',
    hint: 'run bootforge flash as root (sudo), or give your user read-write access to the device (the disk group)',
    explain:
      'Opening the device read-write gave EACCES or EPERM: writing a whole disk needs root, or a user with read-write access to the device node (usually the disk group). Nothing was written.',
    example:
      "BF_FLASH_PERMISSION: /dev/sdb: cannot open it for writing: EACCES: permission denied, open '/dev/sdb'\nhint: run bootforge flash as root (sudo), or give your user read-write access to the device (the disk group)",
  },
  BF_FLASH_CHANGED: {
    kind: 'failure',
    title: 'A flash target changed between being checked and being opened',
    hint: 'check which device is which (lsblk) and run bootforge flash again',
    explain:
      'bootforge checks a target by its device number, then opens it once and keeps it open until the end; the open device must have the number that was checked. It did not: the path (a /dev/disk/by-id link, or a /dev/sdX name a newly plugged stick took over) now leads elsewhere. Nothing was written.',
    example:
      'BF_FLASH_CHANGED: /dev/disk/by-id/usb-SanDisk_Ultra_Fit_4C530001-0:0: opens device 8:32, not the device 8:16 that was checked: it changed while bootforge looked at it\nhint: check which device is which (lsblk) and run bootforge flash again',
  },
  BF_FLASH_IMAGE_DEVICE: {
    kind: 'input',
    title: 'A flash target holds the image being flashed',
    hint: 'copy the image to another disk, or pick another device',
    explain:
      "The image file lies on a file system of the target disk (found from the image file's device number through /sys/dev/block), the target is a loop device over the image file (or a device-mapper or md device built on one, found through slaves/ and loop/backing_file), or the target is the image file itself. Writing would destroy the image while it is read. Nothing was written.",
    example:
      'BF_FLASH_IMAGE_DEVICE: /dev/sdb (sdb): holds the image file being flashed; writing it would destroy the image\nhint: copy the image to another disk, or pick another device',
  },
  BF_FLASH_READ_ONLY: {
    kind: 'input',
    title: 'A flash target is read-only',
    hint: 'check the write-protect switch of the card or stick, or blockdev --setrw',
    explain:
      'sysfs says the target is read-only (ro = 1): an SD card with its lock switch on, or a device set read-only with blockdev --setro. Nothing was written.',
    example:
      'BF_FLASH_READ_ONLY: /dev/mmcblk0 (mmcblk0): is read-only (sysfs ro = 1)\nhint: check the write-protect switch of the card or stick, or blockdev --setrw',
  },
  BF_FLASH_TOO_SMALL: {
    kind: 'input',
    title: 'A flash target is smaller than the image',
    hint: 'use a larger device',
    explain: 'The target holds fewer bytes than the image. Nothing was written.',
    example:
      'BF_FLASH_TOO_SMALL: /dev/sdb (sdb): has 954 MiB, the image needs 1.5 GiB (1610612736 bytes)\nhint: use a larger device',
  },
  BF_FLASH_CONFIRM: {
    kind: 'input',
    title: 'Flashing was not confirmed',
    hint: 'type yes at the prompt, or pass --yes in scripts (after checking the device list)',
    explain:
      'bootforge flash lists the devices and asks for "yes" on a terminal before writing. Without a terminal (a script, CI) it needs --yes; an answer other than yes stops it too. Nothing was written.',
  },
  BF_FLASH_WRITE: {
    kind: 'failure',
    title: 'Writing the image to a flash target failed',
    hint: 'the device may be failing or was unplugged; the others were still written',
    explain:
      'Writing to one target failed (an I/O error, a stick pulled or swapped for another: bootforge writes through the descriptor it checked, so a new stick is never written; a full file system for a file target). The other targets were still written; the command exits 1 and names the failed ones. Before any data, bootforge zeroes the first MiB and the last 64 KiB of every device (the old primary and backup partition tables) and syncs; the new partition tables are written only after all data is written and synced. So a target that failed part way has no partition table and does not boot, even if it held an earlier image.',
    example:
      'BF_FLASH_WRITE: /dev/sdc: writing 4194304 bytes at offset 104857600 failed: EIO: i/o error, write\nhint: the device may be failing or was unplugged; the others were still written',
  },
  BF_FLASH_VERIFY: {
    kind: 'failure',
    title: 'A flash target does not read back what was written',
    hint: 'the medium is likely failing or counterfeit (smaller than it claims); try another one',
    explain:
      "After writing, bootforge drops the device's cache (BLKFLSBUF, as root) or, without that right, opens the device again with O_DIRECT, and reads every written range back from the medium; a range whose SHA-256 differs from the image's (its bmap) means the medium did not keep the data: a failing or counterfeit stick. When neither is possible it warns that the read-back came from the page cache.",
    example:
      'BF_FLASH_VERIFY: /dev/sdc: reads back different bytes: bytes 1048576-5242880: read back 3f1c..., wrote 9a0b...\nhint: the medium is likely failing or counterfeit (smaller than it claims); try another one',
  },
  BF_YAML_RESERVED_KEY: {
    kind: 'input',
    title: 'A key that names a JavaScript object internal',
    hint: 'remove the key; no profile or hardware field has this name',
    explain:
      'A mapping key such as `__proto__`, `constructor` or `prototype` names an internal of JavaScript objects, not data. Read as data it could change how every other key is read, so bootforge refuses it wherever it appears, in profiles and hardware descriptions alike.',
  },
  BF_INPUT_TOO_LARGE: {
    kind: 'input',
    title: 'An input is larger than bootforge reads for its kind',
    hint: undefined,
    explain:
      'Every file bootforge reads has a size bound for its kind (a profile 1 MiB, a source file 256 MiB, a lock 64 MiB, ...; docs/security.md lists them), checked before and while reading, so a wrong path (a device, /dev/zero, a huge log) fails at once instead of exhausting memory.',
    fix: 'Check that the path names the file you meant. A legitimately larger file (a big source: file) belongs in a package or in the image by another route.',
    example: 'BF_INPUT_TOO_LARGE: profile big.yaml is larger than 1 MiB, the most bootforge reads for a profile',
  },
  BF_INPUT_NOT_FILE: {
    kind: 'input',
    title: 'An input path names something that is not a regular file',
    hint: 'name a regular file',
    explain:
      'The path names a directory, a FIFO, a socket or a character device (such as /dev/zero). bootforge reads only regular files (and, where it reads a disk image, block devices), so a special file can never hang a build or feed it endless data.',
    example:
      'BF_INPUT_NOT_FILE: profile /dev/zero is a character device, not a regular file\nhint: name a regular file',
  },
  BF_SOURCE_OUTSIDE: {
    kind: 'input',
    title: 'A path in a profile leads out of the folders it may read',
    hint: "copy the file into the profile's folder, or allow its folder with --source-root DIR (or BOOTFORGE_SOURCE_ROOTS)",
    explain:
      "A path a profile or hardware description names (extends, a file's source:, hashedPasswordFile, a hardware file's source:) resolves, after following symbolic links, outside the folders bootforge may read for it: the top profile's folder, bootforge's bundled profiles and hardware, and the folders the person running the build allowed. This keeps a shared profile from copying the build host's secrets (/etc/shadow, ~/.ssh) into an image or a CI log.",
    fix: 'Copy the file beside the profile, or, if you trust the profile with that folder, pass --source-root DIR (repeatable) or set BOOTFORGE_SOURCE_ROOTS=DIR:DIR.',
  },
  BF_EXPANDS_TOO_FAR: {
    kind: 'input',
    title: 'Compressed data expands past its bound',
    hint: undefined,
    explain:
      'A compressed stream (an initrd segment, a package member, a bundle payload, an index) expands to more than bootforge accepts for it. Real inputs stay far below the bounds; a stream that does not is damaged or built to exhaust memory (a decompression bomb).',
    example: 'BF_EXPANDS_TOO_FAR: initrd bomb.img: the zstd segment at byte 0 expands past 1 GiB',
  },
  BF_NOT_INSPECTABLE: {
    kind: 'input',
    title: 'bootforge inspect was given a file that is neither an initrd nor a disk image',
    hint: 'inspect reads initrds (cpio newc, plain or compressed with gzip, zstd or xz) and GPT disk images (raw, a block device, or qcow2)',
    explain:
      'inspect decides what a file is from its first bytes: a cpio archive or a compression magic number (an initrd), "EFI PART" at byte 512 (a raw GPT image), or the qcow2 magic. A file with none of them (an empty or zeroed file, a file system image, a tar) is refused before anything more is read.',
  },
  BF_IMAGE_NOT_STANDALONE: {
    kind: 'input',
    title: 'A qcow2 image refers to another file',
    hint: 'make it self-contained first: qemu-img convert -O qcow2 overlay.qcow2 standalone.qcow2',
    explain:
      'The qcow2 header names a backing file or an external data file. QEMU would open that file too (or connect to it: a backing file may be an nbd:// or other network address), and show its contents as if they were the image. bootforge reads only self-contained images and refuses such a header before qemu-img sees it.',
  },
  BF_DOWNLOAD_TOO_LARGE: {
    kind: 'failure',
    title: 'The mirror sent more than the signed size',
    hint: 'the mirror or a proxy in between is broken or hostile; try another mirror',
    explain:
      'Every download has a bound before it can be verified: the signed Release file a fixed bound, index files and packages the size their signed index gives. The mirror announced or sent more, so bootforge stopped reading instead of buffering it.',
    example:
      'BF_DOWNLOAD_TOO_LARGE: http://mirror/debian/dists/bookworm/InRelease: sent more than 16 MiB, the bound for a Release file; stopped reading\nhint: the mirror or a proxy in between is broken or hostile; try another mirror',
  },
  BF_INTERNAL: {
    kind: 'failure',
    title: 'A bug in bootforge',
    hint: 'please report it with the output of --debug',
    explain: 'bootforge reached a state its own code rules out. It is never your fault.',
    example: 'BF_INTERNAL: module ext4 vanished from the index\nhint: please report it with the output of --debug',
  },
  BF_IO: {
    kind: 'failure',
    title: 'Reading or writing a file failed',
    hint: undefined,
    explain:
      "Reading or writing a file failed: no space left, no permission, a read-only file system, or a cached file that changed behind bootforge's back.",
    example: 'BF_IO: cannot write out/minimal/installer.img.tmp: ENOSPC: no space left on device',
    fix: 'Check free space (df), permissions and that the output folder is writable. For a cached file that changed, delete it from the cache (--cache-dir, default ~/.cache/bootforge) and retry.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof CATALOGUE;
