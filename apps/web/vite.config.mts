import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const outDir = resolve(root, '../../dist/web');

/** Writes .br and .gz next to every text asset so the server sends them precompressed (no CPU per request). */
function precompress(): Plugin {
  return {
    name: 'parley-precompress',
    apply: 'build',
    writeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
        );
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue;
        const data = readFileSync(file);
        if (data.length < 1024) continue;
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        );
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [precompress()],
  resolve: {
    alias: {
      '@parley/common/protocol': resolve(root, '../../libs/common/src/protocol.ts'),
      '@parley/common/permissions': resolve(root, '../../libs/common/src/permissions.ts'),
      '@parley/common/notifications': resolve(root, '../../libs/common/src/notifications.ts'),
    },
  },
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 300,
    rolldownOptions: {
      output: {
        // React and socket.io change less often than the app: a separate chunk stays cached across releases.
        codeSplitting: {
          groups: [
            {
              name: 'vendor',
              test: /node_modules[\\/](react|react-dom|scheduler|socket\.io|engine\.io|@socket\.io)/,
            },
            // The markdown parser and its helpers: as stable as the framework, so cached the same way.
            {
              name: 'markdown',
              test: /node_modules[\\/](markdown-it|linkify-it|mdurl|uc\.micro|entities|punycode\.js)[\\/]/,
            },
          ],
        },
      },
    },
  },
  // `npx vite --config apps/web/vite.config.mts` against a running monolith on :8080.
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/gateway': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
