// --config FILE: one service as JSON with the start options' names in camelCase, or
// { "services": [ ... ] } to start and stop several together. Relative paths in it are
// relative to the file's directory, which is also the program's unless "cwd" says another:
// a config works from any working directory. Every mistake is one OptionError naming the file and the key.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { OptionError } from '../errors';
import type { ServiceOptions } from './service-options';

const KEYS = new Set([
  'command', 'name', 'pidFile', 'logFile', 'cwd', 'umask', 'user', 'group', 'rlimits', 'env', 'envFile', 'listen',
  'ready', 'readyTimeout', 'restart', 'restartDelay', 'backoff', 'maxRestarts', 'restartWindow', 'successExitCodes',
  'stopSignal', 'stopTimeout', 'reload',
]);
const PATHS = ['pidFile', 'logFile', 'envFile', 'cwd'] as const;
// Durations in a config are milliseconds, as for start(); say so when a string is given.
const NUMBERS = ['readyTimeout', 'restartDelay', 'backoff', 'maxRestarts', 'restartWindow', 'stopTimeout'] as const;

/**
 * Reads a config file for `daemonkit --config`: one service as JSON, keys as in ServiceOptions,
 * or `{ "services": [ ... ] }`. Relative paths in it are relative to the file. Throws
 * DaemonizeError (exit code 2) naming the file and key of any mistake.
 */
export function readConfig(path: string): ServiceOptions[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError(`cannot read --config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OptionError(`--config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const list = isObject(json) && 'services' in json ? json.services : [json];
  if (!Array.isArray(list) || list.length === 0) throw new OptionError(`--config ${path}: "services" must be a non-empty array of services`);
  if (isObject(json) && 'services' in json && Object.keys(json).length > 1) {
    throw new OptionError(`--config ${path}: beside "services" no other key is allowed (found "${Object.keys(json).find((k) => k !== 'services')}")`);
  }
  return list.map((item, i) => service(item, list.length > 1 ? `${path}, services[${i}]` : path, dirname(resolve(path))));
}

function service(item: unknown, where: string, base: string): ServiceOptions {
  if (!isObject(item)) throw new OptionError(`--config ${where}: a service must be an object`);
  for (const key of Object.keys(item)) {
    if (!KEYS.has(key)) throw new OptionError(`--config ${where}: unknown key "${key}"; the keys are the start options in camelCase (pidFile for --pid-file)`);
  }
  const o = { ...item } as Record<string, unknown>;
  if (o.command !== undefined && (!Array.isArray(o.command) || o.command.some((a) => typeof a !== 'string'))) {
    throw new OptionError(`--config ${where}: "command" must be an array of strings, e.g. ["node", "server.js"]`);
  }
  // The program runs in the file's directory unless the file says another.
  o.cwd ??= base;
  for (const key of PATHS) {
    if (o[key] === undefined) continue;
    if (typeof o[key] !== 'string') throw new OptionError(`--config ${where}: "${key}" must be a path`);
    if (!isAbsolute(o[key])) o[key] = resolve(base, o[key]);
  }
  for (const key of NUMBERS) {
    if (o[key] !== undefined && typeof o[key] !== 'number') throw new OptionError(`--config ${where}: "${key}" must be a number (milliseconds for durations), got ${JSON.stringify(o[key])}`);
  }
  return o as unknown as ServiceOptions;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
