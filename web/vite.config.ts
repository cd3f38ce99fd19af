import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The playground: a static site built from the library's browser-safe entries. A relative base lets
// it be served from any folder of any static host.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1200 },
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
});
