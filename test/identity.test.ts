// Users, groups and the privilege drop, as /proc shows them.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { groupList, lookupGroup, lookupUser, processIdentity, resolveCredentials, UnknownIdentityError } from '../src/index';
import { firstLine, fixture, fixtureAsNobody, idGroups, isRoot, procStatus, rootIt, useProcessControl } from './helpers';

const pc = useProcessControl();

describe('lookups', () => {
  it('finds users by name, by uid and by numeric string, as getent does', () => {
    const [name, , uid, gid, , home, shell] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).trim().split(':');
    const expected = { name, uid: +uid, gid: +gid, home, shell };
    expect(lookupUser('nobody')).toEqual(expected);
    expect(lookupUser(+uid)).toEqual(expected);
    expect(lookupUser(uid)).toEqual(expected);
    expect(lookupUser(0).name).toBe('root');
  });

  it('finds groups by name and gid', () => {
    expect(lookupGroup('root')).toMatchObject({ name: 'root', gid: 0 });
    expect(lookupGroup(0).name).toBe('root');
  });

  it("lists a user's groups as id -G does", () => {
    const u = lookupUser('nobody');
    expect(groupList(u.name, u.gid).sort((a, b) => a - b)).toEqual(idGroups('nobody'));
    expect(groupList('root', 0)).toContain(0);
  });

  it('names an unknown user or group and how to check it', () => {
    expect(() => lookupUser('no-such-user-dk')).toThrow(UnknownIdentityError);
    expect(() => lookupUser('no-such-user-dk')).toThrow(
      expect.objectContaining({
        code: 'ERR_UNKNOWN_USER',
        message: "unknown user 'no-such-user-dk': no entry in the passwd database (check it with: getent passwd no-such-user-dk)",
      }),
    );
    expect(() => lookupGroup('no-such-group-dk')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_GROUP' }));
    expect(() => lookupUser(4_000_000_000)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_USER' }));
    expect(() => resolveCredentials('nobody', 'no-such-group-dk')).toThrow(/unknown group 'no-such-group-dk'/);
  });

  it('rejects what cannot be a user', () => {
    expect(() => lookupUser('')).toThrow(/"user"|'user'/);
    expect(() => lookupUser(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => lookupUser({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('reports this process identity like /proc does', () => {
    const status = procStatus('self');
    const id = processIdentity();
    expect(id.uid.map(String)).toEqual(status.Uid.split(/\s+/).slice(0, 3));
    expect(id.gid.map(String)).toEqual(status.Gid.split(/\s+/).slice(0, 3));
  });
});

describe('dropPrivileges', () => {
  async function dropped(...args: string[]) {
    const child = pc.start(process.execPath, [fixture('drop.js'), ...args]);
    const report = JSON.parse(await firstLine(child));
    return { pid: child.pid!, report, status: procStatus(child.pid!) };
  }

  rootIt('drops to nobody for good: all ids, groups, no capabilities, no way back', async () => {
    const { report, status } = await dropped('nobody');
    const nobody = lookupUser('nobody');
    expect(status.Uid.split(/\s+/)).toEqual(Array(4).fill(String(nobody.uid)));
    expect(status.Gid.split(/\s+/)).toEqual(Array(4).fill(String(nobody.gid)));
    expect(status.Groups.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual(idGroups('nobody'));
    expect(status.CapEff).toBe('0000000000000000');
    expect(status.CapPrm).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('0');
    expect(report.setuid0).toBe('EPERM');
    expect(report.seteuid0).toBe('EPERM');
  });

  rootIt('sets no_new_privs when asked', async () => {
    const { status } = await dropped('nobody', 'nnp');
    expect(status.NoNewPrivs).toBe('1');
  });

  it('fails with EPERM naming setgroups when not privileged', () => {
    // As root, in a child that is already nobody; otherwise here in a child too.
    const out = execFileSync(
      process.execPath,
      [isRoot ? fixtureAsNobody('try.js') : fixture('try.js'), JSON.stringify(['dropPrivileges', { uid: 0, gid: 0, groups: [0] }])],
      { encoding: 'utf8', ...(isRoot ? { uid: 65534, gid: 65534 } : {}) },
    );
    expect(JSON.parse(out)).toEqual({
      error: { code: 'EPERM', syscall: 'setgroups', message: 'EPERM: operation not permitted, setgroups' },
    });
  });

  it('validates every id before changing anything', () => {
    const out = execFileSync(
      process.execPath,
      [fixture('try.js'), JSON.stringify(['dropPrivileges', { uid: 65534, gid: 65534, groups: ['x'] }])],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out).error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringContaining('options.groups[0]') });
  });
});
