#!/usr/bin/env -S node --
// The daemonkit command's entry (src/cli/main.ts): the library it uses is ./index.js.
// `node --`: Node reads --env-file anywhere in its arguments, even after the script (Node
// 20 to 24, seen here), and would take `daemonkit start --env-file F` for itself.
import { main } from './cli/main';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
