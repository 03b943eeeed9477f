// The values of the start options in the command's words (strings from flags, anything from
// a config file), turned into what the launcher's options take. Every refusal is one
// OptionError naming the option.
import { readFileSync } from 'node:fs';
import { OptionError } from '../errors';
import type { Command } from '../start/launcher';
import { shown, type DaemonizeOptions, type ListenOptions } from '../start/options';

/** A list option (from a config file it may be anything): an array of strings, or refused. */
export function listOf(v: unknown, flag: string, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new OptionError(`${flag} must be a list of ${what}, got ${shown(v)}`);
  return v;
}

export function readiness(ready: string | undefined): Command['ready'] {
  if (ready === undefined || ready === 'notify') return 'notify';
  if (ready === 'exec') return 'exec';
  const tcp = /^tcp:(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(ready);
  if (tcp !== null && Number(tcp[2]) > 0 && Number(tcp[2]) < 65536) {
    return { host: tcp[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port: Number(tcp[2]) };
  }
  throw new OptionError(`--ready must be exec, notify or tcp:[HOST:]PORT, got ${shown(ready)}`);
}

export function listen(spec: string): ListenOptions {
  if (typeof spec !== 'string') throw new OptionError(`--listen must be [HOST:]PORT or a socket path, got ${shown(spec)}`);
  if (spec.startsWith('/') || spec.startsWith('@') || spec.startsWith('.')) return { path: spec };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(spec);
  if (m === null || Number(m[2]) > 65535) throw new OptionError(`--listen must be [HOST:]PORT (a numeric address) or a socket path, got ${shown(spec)}`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '::', port: Number(m[2]) };
}

export function keyValues(list: string[] | Record<string, string> | undefined, flag: string): Record<string, string> {
  if (list === undefined) return {};
  if (!Array.isArray(list)) {
    if (typeof list !== 'object' || list === null || Object.values(list).some((v) => typeof v !== 'string')) {
      throw new OptionError(`${flag} must be KEY=VALUE strings, or an object of strings, got ${shown(list)}`);
    }
    return list;
  }
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new OptionError(`${flag} must be KEY=VALUE, got ${shown(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function rlimits(list: string[] | Record<string, number | { soft?: number; hard?: number }> | undefined): DaemonizeOptions['rlimits'] {
  if (list === undefined || !Array.isArray(list)) return list;
  const out: NonNullable<DaemonizeOptions['rlimits']> = {};
  for (const item of list) {
    const m = /^([a-z]+)=(\d+|infinity|unlimited)(?::(\d+|infinity|unlimited))?$/.exec(item);
    if (m === null) throw new OptionError(`--rlimit must be NAME=SOFT[:HARD] (numbers or infinity), e.g. nofile=4096:8192, got ${shown(item)}`);
    const value = (v: string) => (v === 'infinity' || v === 'unlimited' ? Infinity : Number(v));
    out[m[1]] = { soft: value(m[2]), hard: value(m[3] ?? m[2]) };
  }
  return out;
}

/** KEY=VALUE lines, as systemd's EnvironmentFile=: # comments and blank lines skipped. */
export function envFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError(`cannot read --env-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`);
  }
  const out: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new OptionError(`--env-file ${path}, line ${i + 1}: not KEY=VALUE`);
    out[t.slice(0, eq).replace(/^export\s+/, '')] = t.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
  });
  return out;
}
