import { CodeSandbox } from './src/code-steps/code-sandbox';
const args = { input: {}, steps: {}, run: {} as any };
(async () => {
  const sb = new CodeSandbox({ timeoutMs: 300, memoryBytes: 16 << 20, stackBytes: 256 << 10, outputChars: 65536 });
  for (const src of ['const kept = []; for (let i = 0; ; i++) { kept.push("x".repeat(1 << 20) + i); }',
                     'const kept = []; for (let i = 0; ; i++) { kept.push(new Array(100000).fill(i)); }',
                     'const kept = []; for (let i = 0; ; i++) { kept.push({i}); }',
                     'for (let i = 0; ; i++) { "x".repeat(1 << 20) }',
                     'for (let i = 0; ; i++) { "x".repeat(1 << 23) }',
                     'return lib.sha256("x")']) {
    const t = performance.now();
    const o = await sb.run(src, args);
    console.log((performance.now() - t).toFixed(0), JSON.stringify(o.ok ? o.output : [o.error.code, o.error.message]));
  }
})();
