import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The web console: a static single-page app, served by the API server from `console/dist`. */
export default defineConfig({
  root: here,
  base: '/',
  // Preact's JSX runtime through esbuild; no Babel plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill is for browsers without modulepreload; every browser the console supports has it.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev:console` against a platform started with `npm start`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
