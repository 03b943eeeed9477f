// Argument checks shared by the wrappers: each names the argument it rejects.
import { invalidType, invalidValue, outOfRange } from '../errors';

export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

export function validateFd(value: unknown, name: string): number {
  return validateInteger(value, name, 0, 2 ** 31 - 1);
}

/** uid_t and gid_t: 32-bit, with (uid_t)-1 reserved as "no change". */
export function validateId(value: unknown, name: string): number {
  return validateInteger(value, name, 0, 2 ** 32 - 2);
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidType(name, 'of type string', value);
  if (value.includes('\0')) throw invalidValue(name, value, 'must not contain null bytes');
  return value;
}

export function validateNonEmptyString(value: unknown, name: string): string {
  validateString(value, name);
  if (value === '') throw invalidValue(name, value, 'must not be empty');
  return value as string;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value);
  return value;
}

export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidType(name, 'of type object', value);
  }
  return value as Record<string, unknown>;
}

export function validateUmask(value: unknown, name: string): number {
  if (typeof value === 'string') {
    if (!/^[0-7]{1,4}$/.test(value)) throw invalidValue(name, value, 'must be an octal string like "022" or a number like 0o022');
    value = parseInt(value, 8);
  }
  return validateInteger(value, name, 0, 0o777);
}
