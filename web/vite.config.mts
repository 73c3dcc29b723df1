import { defineConfig, type Plugin } from 'vite';

/**
 * codemirror-json-schema renders schema descriptions as Markdown with markdown-it and shiki
 * (hundreds of KiB of grammars and themes); the published definition schema's descriptions are
 * plain sentences, so its Markdown module is swapped for one that only escapes text.
 */
function plainSchemaDescriptions(): Plugin {
  const stub = new URL('./src/editor/plain-markdown.ts', import.meta.url).pathname;
  return {
    name: 'trellis-plain-schema-descriptions',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === '../utils/markdown' && importer?.includes('codemirror-json-schema')) return stub;
      return null;
    },
  };
}

/**
 * The dashboard (index.html) and the GraphQL explorer (explorer.html), built into web/dist by
 * scripts/build-dashboard.mjs. Asset names carry content hashes, so the server caches them for a year.
 */
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/',
  plugins: [plainSchemaDescriptions()],
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 5000,
    rollupOptions: {
      // React libraries mark modules "use client" for server components; a browser bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
      input: {
        dashboard: new URL('./index.html', import.meta.url).pathname,
        explorer: new URL('./explorer.html', import.meta.url).pathname,
      },
    },
  },
});
