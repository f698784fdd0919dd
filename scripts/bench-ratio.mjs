// Prints dcgan's images/s beside PyTorch's (fp32 is the fair comparison for WebGPU) as a ratio.
//   node scripts/bench-ratio.mjs dcgan-bench.json torch.txt
import { readFileSync } from 'node:fs';

const [benchFile, torchFile] = process.argv.slice(2);
const dcgan = JSON.parse(readFileSync(benchFile, 'utf8'));
const torch = {};
for (const m of readFileSync(torchFile, 'utf8').matchAll(/pytorch (\w+)\s+batch=\s*(\d+):\s+([\d.]+) img\/s/g)) {
  if (Number(m[2]) === dcgan.batchSize) torch[m[1]] = Number(m[3]);
}
if (!torch.fp32) {
  console.error(`no PyTorch fp32 line for batch ${dcgan.batchSize} in ${torchFile}`);
  process.exit(1);
}
const row = (name, ips) => `${name.padEnd(28)} ${ips.toFixed(0).padStart(8)} img/s   ${(dcgan.imagesPerSecond / ips).toFixed(4)}×`;
console.log(`dcgan ${dcgan.device}, batch ${dcgan.batchSize}: ${dcgan.imagesPerSecond.toFixed(0)} img/s (${dcgan.msPerStep.toFixed(1)} ms/step)`);
console.log(`${'reference'.padEnd(28)} ${'speed'.padStart(8)}         dcgan / reference`);
for (const [mode, ips] of Object.entries(torch)) console.log(row(`pytorch ${mode}`, ips));
