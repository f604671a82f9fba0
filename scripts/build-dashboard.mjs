// Bundles the dashboard page (src/dashboard/page, TypeScript + Preact) into
// dist/dashboard: index.html and assets/app.js, assets/app.css. Part of
// `npm run build`; the server reads the result (src/dashboard/route.ts).
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const src = 'src/dashboard/page';
const out = 'dist/dashboard';
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [path.join(src, 'main.tsx')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: path.join(out, 'assets', 'app.js'),
  logLevel: 'warning',
});
fs.copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
fs.copyFileSync(path.join(src, 'style.css'), path.join(out, 'assets', 'app.css'));
