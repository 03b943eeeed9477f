// The six prebuilt addons the package ships, and what makes one right: the file that
// src/native/binding.ts looks for, the file format and CPU of its platform, for glibc no
// symbol version newer than Node's own Linux builds need (GLIBC_2.28: RHEL 8, Debian 10), and
// on the machine it is for, a load. Checked by the release check (scripts/release-check.mjs)
// on the files themselves, so the workflow's packing job can check all six on one machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ELF_MACHINE = { x64: 62, arm64: 183 }; // e_machine: EM_X86_64, EM_AARCH64 (elf(5))
const MACHO_CPU = { x64: 0x01000007, arm64: 0x0100000c }; // CPU_TYPE_X86_64, CPU_TYPE_ARM64
const GLIBC_MAX = [2, 28];

const libcHere = () => (process.platform === 'linux' && existsSync('/etc/alpine-release') ? 'musl' : 'glibc');

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
    const versions = [...data.toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    if (target.libc === 'musl' && versions.length > 0) return `${target.file} needs glibc (GLIBC_ symbol versions): built against glibc, not musl`;
    if (target.libc === 'glibc') {
      if (versions.length === 0) return `${target.file} names no GLIBC_ symbol version: not a glibc build`;
      const newest = versions.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a));
      if (newest[0] > GLIBC_MAX[0] || (newest[0] === GLIBC_MAX[0] && newest[1] > GLIBC_MAX[1])) {
        return `${target.file} needs GLIBC_${newest.join('.')}, newer than the GLIBC_${GLIBC_MAX.join('.')} of Node's own Linux builds`;
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
