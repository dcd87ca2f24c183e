import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The console is served by the gateway under /console (tools/build.mjs builds it to dist/console). */
export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [react()],
  resolve: { alias: { '@herald/sdk': here('../../libs/sdk/src/index.ts') } },
  build: {
    outDir: here('../../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // Screens are loaded on demand; the first load (checked by the browser e2e) stays under 250 kB gzipped.
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
  // `vite` in apps/console serves the page with the API of `npm start` behind it.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/api': 'http://127.0.0.1:8080' } },
});
