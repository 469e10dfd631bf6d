import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { grade } from '../src/index';
const cpu = () => { const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[13]) + Number(f[14])) / 100; };
for (let i = 0; i < 3; i++) {
  const c = cpu();
  await grade(() => createReadStream('/tmp/mxh/pic.mkv'), createWriteStream('/tmp/mxh/g-out.mkv'), { lutPath: '/tmp/mxh/look.cube' });
  console.log('grade cpu', (cpu() - c).toFixed(2));
}
