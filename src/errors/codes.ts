/**
 * The catalogue of error codes. A code is permanent once released: users grep
 * for it and the README's troubleshooting table is generated from this list.
 * `kind: 'input'` exits 2 (fix your profile or arguments); `failure` exits 1.
 */
export const CATALOGUE = {
  BF_USAGE: {
    kind: 'input',
    title: 'Bad command-line usage',
    hint: 'run the command with --help to see its arguments',
  },
  BF_FILE_NOT_FOUND: {
    kind: 'input',
    title: 'A file named on the command line or in a profile does not exist',
    hint: undefined,
  },
  BF_YAML_SYNTAX: {
    kind: 'input',
    title: 'The YAML cannot be parsed',
    hint: 'check indentation and quoting near the marked position',
  },
  BF_YAML_DUPLICATE_KEY: {
    kind: 'input',
    title: 'A key appears twice in the same mapping',
    hint: 'remove one of the two; bootforge will not guess which one you meant',
  },
  BF_UNKNOWN_KEY: {
    kind: 'input',
    title: 'A key that the format does not define',
    hint: 'see schema/*.schema.json or the README for the allowed keys',
  },
  BF_TYPE: { kind: 'input', title: 'A value of the wrong type', hint: undefined },
  BF_REQUIRED: { kind: 'input', title: 'A required key is missing', hint: undefined },
  BF_ENUM: { kind: 'input', title: 'A value outside the allowed set', hint: undefined },
  BF_INVALID_VALUE: { kind: 'input', title: 'A value that breaks a rule of its field', hint: undefined },
  BF_PROFILE_NAME: {
    kind: 'input',
    title: 'A profile name that cannot name files and boot entries',
    hint: 'use lower-case letters, digits, "-", "_" and "."',
  },
  BF_HOSTNAME: {
    kind: 'input',
    title: 'A host name that RFC 1123 does not allow',
    hint: 'use letters, digits and "-" in labels of at most 63 characters, separated by "."; {{serial}}, {{vendor}} and {{product}} stand for DMI values',
  },
  BF_TIMEZONE: {
    kind: 'input',
    title: 'An unknown time zone',
    hint: 'use an IANA name such as Europe/Berlin or Etc/UTC (see timedatectl list-timezones)',
  },
  BF_LOCALE: {
    kind: 'input',
    title: 'A locale name in the wrong form',
    hint: 'use language_COUNTRY.UTF-8 (e.g. en_US.UTF-8) or C.UTF-8',
  },
  BF_USERNAME: {
    kind: 'input',
    title: 'A user or group name that Debian does not allow',
    hint: 'start with a lower-case letter; then lower-case letters, digits, "_" or "-"; at most 32 characters',
  },
  BF_RESERVED_UID: {
    kind: 'input',
    title: 'A uid or gid in a range Debian reserves',
    hint: 'regular users take uids 1000-59999 (Debian policy 9.2.2); omit uid to let bootforge allocate one',
  },
  BF_DUPLICATE_ID: {
    kind: 'input',
    title: 'Two users or groups share one id',
    hint: 'give each account its own uid/gid, or omit uid to let bootforge allocate one',
  },
  BF_PLAINTEXT_PASSWORD: {
    kind: 'input',
    title: 'A password in clear text',
    hint: 'store a hash instead: mkpasswd -m yescrypt (package whois) prints one; or use hashedPasswordFile',
  },
  BF_PASSWORD_HASH: {
    kind: 'input',
    title: 'A password hash of an unsupported or weak kind',
    hint: 'use yescrypt ($y$) or sha512-crypt ($6$): mkpasswd -m yescrypt',
  },
  BF_SSH_KEY: {
    kind: 'input',
    title: 'A malformed SSH public key',
    hint: 'paste one line of ~/.ssh/id_ed25519.pub: "ssh-ed25519 AAAA... comment"',
  },
  BF_RELATIVE_PATH: {
    kind: 'input',
    title: 'A path that must be absolute is relative',
    hint: 'target paths start with "/"',
  },
  BF_PATH_TRAVERSAL: {
    kind: 'input',
    title: 'A path with "." or ".." components',
    hint: 'write the path in normal form, without "." or ".." components',
  },
  BF_MODE: {
    kind: 'input',
    title: 'A file mode that is not an octal string',
    hint: 'quote it as an octal string, e.g. mode: "0644" (YAML reads an unquoted 0644 as decimal 644)',
  },
  BF_OWNER: {
    kind: 'input',
    title: 'A file owner not of the form user or user:group',
    hint: 'write owner: root:root, or a user the profile defines',
  },
  BF_FILE_SOURCE: {
    kind: 'input',
    title: 'A file entry needs exactly one of content and source',
    hint: 'give content: for inline text, or source: for a file next to the profile',
  },
  BF_SIZE: {
    kind: 'input',
    title: 'A size that cannot be read',
    hint: 'write a number with a unit: 512MiB, 20GiB, 20G (= GiB), 1TB (= 10^12 bytes)',
  },
  BF_SHELL_META: {
    kind: 'input',
    title: 'Shell metacharacters where the value cannot be data',
    hint: 'names of packages, modules, services and kernel parameters cannot contain ; | & $ ` < > \\ quotes or newlines',
  },
  BF_PACKAGE_NAME: {
    kind: 'input',
    title: 'A Debian package name that policy does not allow',
    hint: 'package names are lower-case letters, digits, "+", "-" and "." (Debian policy 5.6.1)',
  },
  BF_VERSION_GATE: {
    kind: 'input',
    title: 'A kernel version gate that cannot be read',
    hint: 'write comparisons like "<6.8", ">=6.5", or ">=6.1 <6.8"',
  },
  BF_HARDWARE_MATCH: {
    kind: 'input',
    title: 'A hardware match rule that matches nothing or everything',
    hint: 'give at least one DMI field: sys_vendor, product_name, product_version or board_name',
  },
  BF_HARDWARE_ID: {
    kind: 'input',
    title: "A hardware description's id differs from its file name",
    hint: 'name the file <id>.yaml',
  },
  BF_UNKNOWN_HARDWARE: {
    kind: 'input',
    title: 'A hardware id that no description has',
    hint: 'bootforge hardware list shows the known ids',
  },
  BF_SYSFS: {
    kind: 'input',
    title: 'A sysfs folder or snapshot (bootforge hardware detect --sysfs) that is missing or cannot be read',
    hint: 'pass the sysfs root (/sys) or a snapshot folder with the same layout',
  },
  BF_EXTENDS_MISSING: {
    kind: 'input',
    title: 'extends names a profile that does not exist',
    hint: 'extends takes a path relative to the profile, or the name of a profile in the same folder',
  },
  BF_EXTENDS_CYCLE: {
    kind: 'input',
    title: 'Profiles extend each other in a cycle',
    hint: 'remove one extends link of the cycle',
  },
  BF_MERGE_CONFLICT: {
    kind: 'input',
    title: 'Two files set one value differently',
    hint: 'remove one of them, or mark the winning value with !override (or the weaker one with !default)',
  },
  BF_NO_MIRROR: {
    kind: 'input',
    title: 'No Debian mirror is configured for a suite',
    hint: 'pass --mirror, set BOOTFORGE_MIRROR or packages.mirror, or configure apt on the build host',
  },
  BF_NO_KEYRING: {
    kind: 'input',
    title: 'No OpenPGP keyring to verify a repository with',
    hint: 'pass --keyring, set packages.keyring, or install debian-archive-keyring',
  },
  BF_BAD_KEYRING: {
    kind: 'input',
    title: 'A keyring file holds no readable OpenPGP keys',
    hint: 'give a binary keyring (.gpg) or an armored key block (.asc)',
  },
  BF_REPO_SIGNATURE: {
    kind: 'failure',
    title: "A repository's InRelease is not validly signed by a trusted key",
    hint: 'check the keyring and the mirror; --insecure skips this check (hashes are still verified)',
  },
  BF_REPO_EXPIRED: {
    kind: 'failure',
    title: "A repository's Release is past its Valid-Until date, or dated in the future",
    hint: 'use an up-to-date mirror and check the clock',
  },
  BF_REPO_INDEX: {
    kind: 'failure',
    title: 'A repository index is missing, malformed, or does not match its hash',
    hint: 'the mirror may be syncing or tampered with; retry, or use another mirror',
  },
  BF_FETCH: {
    kind: 'failure',
    title: 'A download failed',
    hint: 'check the network and the mirror',
  },
  BF_HASH_MISMATCH: {
    kind: 'failure',
    title: 'Downloaded bytes do not match the SHA-256 their signed index promised',
    hint: 'the mirror served something else than the signed index describes',
  },
  BF_PACKAGE_NOT_FOUND: {
    kind: 'input',
    title: 'A package that no configured suite has',
    hint: 'check the name, the suites and the components',
  },
  BF_PACKAGE_UNSATISFIABLE: {
    kind: 'input',
    title: 'A dependency that no available version satisfies',
    hint: 'add a suite with a fitting version, or relax the constraint',
  },
  BF_PACKAGE_CONFLICT: {
    kind: 'input',
    title: 'Packages in one closure conflict with or break each other',
    hint: 'remove one of them from the profile',
  },
  BF_LOCK_STALE: {
    kind: 'input',
    title: 'The lock file does not match the profile, or cannot be read',
    hint: 'run bootforge lock <profile> to update it',
  },
  BF_BAD_DEB: {
    kind: 'failure',
    title: 'A package file is not a valid .deb, or uses a format bootforge does not read',
    hint: 'the download may be truncated or corrupt; delete it from the cache and retry',
  },
  BF_MODULE_NOT_FOUND: {
    kind: 'input',
    title: 'A kernel module that the kernel package neither ships nor builds in',
    hint: 'check the name (modinfo -n NAME on a machine with this kernel), or add the package that ships it',
  },
  BF_BINARY_NOT_FOUND: {
    kind: 'failure',
    title: 'A program for the initrd, or a library it needs, is not in the package tree',
    hint: 'add the Debian package that ships it to the profile',
  },
  BF_BAD_ELF: {
    kind: 'failure',
    title: 'A file that should be an ELF object (program, library, kernel module) is malformed or of another kind',
    hint: 'the package may be corrupt: delete it from the cache and retry',
  },
  BF_UNSAFE_ARCHIVE: {
    kind: 'failure',
    title: 'A package archive holds an entry that would escape the tree',
    hint: 'no Debian package needs this; the package or the mirror may be malicious',
  },
  BF_PATH_CONFLICT: {
    kind: 'failure',
    title: 'Two entries of the file tree cannot share a path (a directory and a file, or a file as a parent)',
    hint: 'the packages conflict; remove one of them from the profile',
  },
  BF_IMAGE_LAYOUT: {
    kind: 'failure',
    title: 'A disk layout that cannot be written: partitions overlap or do not fit, or an entry is malformed',
    hint: 'make the disk larger or the partitions smaller; at most 128 partitions, names of at most 36 UTF-16 code units',
  },
  BF_BMAP: {
    kind: 'failure',
    title: 'A block map (.bmap) is malformed, or does not match its own checksum or its image',
    hint: 'regenerate the image and its .bmap together; a .bmap belongs to exactly one image file',
  },
  BF_FAT_TOO_LARGE: {
    kind: 'failure',
    title: 'A file of 4 GiB or more, which FAT32 cannot store (4 GiB - 1 bytes at most)',
    hint: 'keep the file off the FAT volume (the ESP), or split it into parts below 4 GiB',
  },
  BF_FAT_FULL: {
    kind: 'failure',
    title: 'The files do not fit in the FAT32 volume',
    hint: 'make the volume (the ESP) at least as large as the message says, or put fewer files on it',
  },
  BF_FAT_TOO_SMALL: {
    kind: 'failure',
    title: 'A volume too small for FAT32, which needs 65525 clusters (33 MiB) at least',
    hint: 'UEFI firmware reads the ESP as FAT32: give it at least 33 MiB',
  },
  BF_FAT_PATH: {
    kind: 'failure',
    title: 'A path that a FAT file system cannot store',
    hint: 'FAT names are case-insensitive, at most 255 UTF-16 code units, free of " * / : < > ? \\ | and control characters, and do not end in a space or a dot',
  },
  BF_FAT_INVALID: {
    kind: 'failure',
    title: 'A volume that is not a readable FAT32 file system',
    hint: 'check that the offset points at the start of the FAT32 partition; fsck.fat -n -v shows what is wrong',
  },
  BF_TOOL_MISSING: {
    kind: 'failure',
    title: 'A host tool bootforge needs for this command is not installed',
    hint: 'install the Debian package the message names',
  },
  BF_TOOL_FAILED: {
    kind: 'failure',
    title: 'A host tool failed',
    hint: undefined,
  },
  BF_QEMU_TIMEOUT: {
    kind: 'failure',
    title: 'A QEMU guest did not reach an expected point in time',
    hint: 'read the serial log the message names',
  },
  BF_BOOT_TEST: {
    kind: 'failure',
    title: 'A boot test failed: the installer, the installed system, one of its checks or a profile test',
    hint: 'the message names the failing step; read the serial log it names',
  },
  BF_KERNEL_NOT_FOUND: {
    kind: 'input',
    title: 'The kernel package yields no kernel, or several',
    hint: 'kernel.package must name one kernel image package, e.g. linux-image-amd64',
  },
  BF_TEMPLATE: {
    kind: 'failure',
    title: 'A template is unsafe, or cannot be rendered with the values given to it',
    hint: 'templates ship with bootforge: please report it with the output of --debug',
  },
  BF_CPIO_ENTRY: {
    kind: 'failure',
    title: 'A file-tree entry cannot go into an initramfs cpio archive as the kernel would read it',
    hint: 'the message names the entry and the limit it breaks (newc fields, PATH_MAX, parents that are not directories)',
  },
  BF_INITRD_FORMAT: {
    kind: 'failure',
    title: 'An initrd is malformed: a segment, its compression or a cpio header cannot be read as the kernel would',
    hint: 'check that the file is an initramfs (cpio newc, plain or compressed with gzip, zstd or xz) and is not truncated',
  },
  BF_INTERNAL: { kind: 'failure', title: 'A bug in bootforge', hint: 'please report it with the output of --debug' },
  BF_IO: { kind: 'failure', title: 'Reading or writing a file failed', hint: undefined },
} as const satisfies Record<string, { kind: 'input' | 'failure'; title: string; hint: string | undefined }>;

export type ErrorCode = keyof typeof CATALOGUE;
