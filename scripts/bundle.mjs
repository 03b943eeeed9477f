// Builds dist/: one CommonJS file per entry point (index.js, cli.js) plus index.mjs for ESM.
// tsc still type-checks and writes the .d.ts files (see the "compile" script).
//
// Why one file instead of tsc's one-file-per-module output: a daemonized server loads the
// library twice, once in the launcher and once in the daemon, and both loads sit on the
// path from `node server.js` to the first answered request. Measured with bench/start.mjs
// on Node 20, resolving, reading and wrapping 17 modules cost ~10 ms per process more than
// one file with the same code.
//
// Why index.mjs is a second bundle (ESM) rather than a wrapper that require()s index.js: an
// ESM program that touches CommonJS at all pays to set up Node's CommonJS loader, ~3-4 ms, and
// a daemon pays it twice. With the addon loaded by process.dlopen (src/native/binding.ts), an ESM
// program never needs it. A program that loads both builds (ESM itself, CommonJS through a
// dependency) shares one lifecycle state between them (src/lifecycle/state.ts).
import { build } from 'esbuild';
import { createRequire, isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // Resolved at run time next to the package: it finds the addon for this platform.
  external: ['node-gyp-build'],
};

// In the ESM build, `import { openSync } from 'node:fs'` would make Node build an ES module
// facade of node:fs, copying every export, and reading its lazy getters (fs.ReadStream loads
// all of fs's streams): ~2 ms per process that a program importing only node:http never pays.
// Each builtin is taken from process.getBuiltinModule instead, as the CommonJS build takes it
// from require(), and only the names src/ uses are kept (the @__PURE__ picks of unused names
// are dropped by esbuild).
const requireHere = createRequire(import.meta.url);
const builtinsWithoutFacades = {
  name: 'builtins-without-facades',
  setup(b) {
    // `node:fs` and a bare `fs` alike; a package's name is never a builtin's.
    b.onResolve({ filter: /^[\w:/]+$/ }, (args) => (isBuiltin(args.path) ? { path: args.path, namespace: 'builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const names = Object.keys(requireHere(args.path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      const contents = [
        `const m = __daemonkitBuiltin(${JSON.stringify(args.path)});`,
        ...names.map((k) => `export const ${k} = /* @__PURE__ */ __daemonkitPick(m, ${JSON.stringify(k)});`),
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

await build({ ...common, entryPoints: [`${root}src/index.ts`], outfile: `${dist}/index.js` });
await build({
  ...common,
  format: 'esm',
  // The named exports, and the whole API as the default export, as `import daemonkit from`
  // gets from a CommonJS package.
  stdin: {
    contents: "export * from './src/index';\nimport * as daemonkit from './src/index';\nexport default daemonkit;\n",
    resolveDir: root,
    sourcefile: 'index.mjs',
    loader: 'ts',
  },
  outfile: `${dist}/index.mjs`,
  plugins: [builtinsWithoutFacades],
  // What src/ takes from CommonJS: __dirname for the addon, and require for node-gyp-build,
  // which only runs when the addon is not where src/native/binding.ts looks first. Created on
  // first use: createRequire costs ~0.5 ms that most programs never need.
  // process.getBuiltinModule: Node >= 20.16 and 22.3; older ones take createRequire's.
  banner: {
    js: [
      "import { createRequire as __daemonkitCreateRequire } from 'node:module';",
      'const __daemonkitBuiltin = process.getBuiltinModule ?? __daemonkitCreateRequire(import.meta.url);',
      'const __daemonkitPick = (m, k) => m[k];',
      'const __dirname = import.meta.dirname ?? __daemonkitBuiltin("node:url").fileURLToPath(new URL(".", import.meta.url));',
      'const require = (id) => __daemonkitCreateRequire(import.meta.url)(id);',
    ].join('\n'),
  },
});
// The CLI uses the library through ./index.js, so the library code exists once in dist/.
await build({
  ...common,
  entryPoints: [`${root}src/cli.ts`],
  outfile: `${dist}/cli.js`,
  plugins: [
    {
      name: 'library-is-external',
      setup(b) {
        b.onResolve({ filter: /^\.\/index$/ }, () => ({ path: './index.js', external: true }));
      },
    },
  ],
});
