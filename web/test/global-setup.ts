/** Serves web/dist for the browser tests; its URL reaches the test workers as PLAYGROUND_URL. */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { serveFolder } from './static-server.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  if (!existsSync(`${dist}index.html`)) throw new Error('web/dist/index.html is missing: run npm run web:build first (npm run test:web does)');
  const server = await serveFolder(dist);
  process.env.PLAYGROUND_URL = server.url;
  return () => server.close();
}
