import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const REPO = fileURLToPath(new URL('..', import.meta.url));
// Every module bundled into the page or its workers, so that a test can check that only the
// library's browser-safe modules (and Graphviz's) went in.
const modules = new Set<string>();

function collect(name: string, emit: boolean): Plugin {
  return {
    name,
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk') for (const id of chunk.moduleIds) modules.add(relative(REPO, id).replaceAll('\\', '/'));
      }
      if (emit) this.emitFile({ type: 'asset', fileName: 'modules.json', source: `${JSON.stringify([...modules].sort(), null, 1)}\n` });
    },
  };
}

// The playground: a static site built from the library's browser-safe entries. A relative base lets
// it be served from any folder of any static host.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [collect('module-list', true)],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1200 },
  worker: { format: 'es', plugins: () => [collect('module-list-worker', false)] },
  server: { fs: { allow: ['..'] } },
});
