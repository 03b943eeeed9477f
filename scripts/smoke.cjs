// Loads daemonkit (from dist/, with build/Release's addon if there is one, else the prebuild
// for this platform: the CI job that runs this has no build/) and makes one call of each kind
// that works on every platform.
'use strict';
const assert = require('node:assert');
const dk = require('../dist');

const nofile = dk.getrlimit('nofile');
assert.ok(nofile.soft > 0, 'getrlimit(nofile)');
assert.strictEqual(dk.lookupUser(0).name, 'root');
assert.ok(dk.getsid() > 0, 'getsid');
const pid = dk.spawnChild('true');
let status;
while ((status = dk.reap(pid)) === null);
assert.deepStrictEqual(status, { code: 0, signal: null });
const daemon = dk.spawnDaemon('true');
assert.ok(daemon > 0, 'spawnDaemon');
const l = dk.listenTcp({ host: '127.0.0.1', port: 0 });
require('node:fs').closeSync(l.fd);
console.log(`daemonkit ok on ${process.platform}-${process.arch}: nofile ${nofile.soft}/${nofile.hard}, daemon pid ${daemon}`);
