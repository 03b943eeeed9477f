// The six prebuilt addons the package ships, and what makes one right: the file that
// src/native/binding.ts looks for, the file format and CPU of its platform, for glibc no
// symbol version newer than Node's own Linux builds need (GLIBC_2.28: RHEL 8), and
// on the machine it is for, a load. Checked by the release check (scripts/release-check.mjs)
// on the files themselves, so the workflow's packing job can check all six on one machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ELF_MACHINE = { x64: 62, arm64: 183 }; // e_machine: EM_X86_64, EM_AARCH64 (elf(5))
const MACHO_CPU = { x64: 0x01000007, arm64: 0x0100000c }; // CPU_TYPE_X86_64, CPU_TYPE_ARM64
// The newest symbol versions an addon may import to load wherever Node's own Linux builds run
// (RHEL 8's glibc 2.28), and with the oldest libstdc++ those systems carry (GLIBCXX_3.4.21
// and CXXABI_1.3.9 are GCC 5's; test/binary.test.ts checks the same with objdump).
const NEWEST_ALLOWED = { GLIBC: [2, 28], GLIBCXX: [3, 4, 21], CXXABI: [1, 3, 9] };

/** The libc this machine's prebuild is for: musl on Alpine, else glibc (src/native/binding.ts). */
export const libcHere = () => (process.platform === 'linux' && existsSync('/etc/alpine-release') ? 'musl' : 'glibc');

export const prebuildTargets = [
  ['linux', 'x64', 'glibc'],
  ['linux', 'arm64', 'glibc'],
  ['linux', 'x64', 'musl'],
  ['linux', 'arm64', 'musl'],
  ['darwin', 'x64', 'glibc'], // prebuildify's --tag-libc names every non-musl build glibc
  ['darwin', 'arm64', 'glibc'],
].map(([platform, arch, libc]) => ({
  platform,
  arch,
  libc,
  file: `prebuilds/${platform}-${arch}/daemonkit.${libc}.node`,
  summary: `${platform === 'darwin' ? 'Mach-O' : 'ELF'} ${arch}${platform === 'linux' ? `, ${libc}` : ''}`,
  here: () => process.platform === platform && process.arch === arch && libcHere() === libc,
}));

/** The newest version of a namespace (GLIBC, GLIBCXX, CXXABI) named in a binary's text. */
function newest(text, ns) {
  const versions = [...text.matchAll(new RegExp(`\\b${ns}_(\\d+(?:\\.\\d+)+)\\b`, 'g'))].map((m) => m[1].split('.').map(Number));
  return versions.length === 0 ? undefined : versions.reduce((a, b) => (newer(b, a) ? b : a));
}

function newer(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}

/** What is wrong with a target's prebuild under `root`, or undefined. */
export function checkPrebuild(root, target) {
  const path = join(root, target.file);
  if (!existsSync(path)) return `${target.file} is missing`;
  const data = readFileSync(path);
  if (target.platform === 'linux') {
    if (data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2) return `${target.file} is not a 64-bit ELF file`;
    const machine = data.readUInt16LE(18);
    if (machine !== ELF_MACHINE[target.arch]) return `${target.file} is for ELF machine ${machine}, not ${target.arch} (${ELF_MACHINE[target.arch]})`;
    // The version names the addon needs are strings of its .dynstr (GLIBC_2.17, ...).
    const text = data.toString('latin1');
    const glibc = newest(text, 'GLIBC');
    if (target.libc === 'musl' && glibc !== undefined) return `${target.file} needs glibc (GLIBC_ symbol versions): built against glibc, not musl`;
    if (target.libc === 'glibc') {
      if (glibc === undefined) return `${target.file} names no GLIBC_ symbol version: not a glibc build`;
      for (const [ns, max] of Object.entries(NEWEST_ALLOWED)) {
        const v = newest(text, ns);
        if (v !== undefined && newer(v, max)) return `${target.file} needs ${ns}_${v.join('.')}, newer than the ${ns}_${max.join('.')} of Node's own Linux builds`;
      }
    }
  } else {
    if (data.readUInt32LE(0) !== 0xfeedfacf) return `${target.file} is not a 64-bit Mach-O file`;
    const cpu = data.readUInt32LE(4);
    if (cpu !== MACHO_CPU[target.arch]) return `${target.file} is for Mach-O CPU type 0x${cpu.toString(16)}, not ${target.arch}`;
  }
  if (target.here()) {
    // In a process of its own, and only this file: what a user's require() does.
    const script = 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); if (typeof m.exports.getrlimit !== "function") throw new Error("no getrlimit")';
    const r = spawnSync(process.execPath, ['-e', script, path], { encoding: 'utf8' });
    if (r.status !== 0) return `${target.file} does not load on this ${process.platform}-${process.arch}: ${r.stderr.trim().split('\n')[0]}`;
  }
  return undefined;
}
