/** Regenerates the committed colour asset: cd /work/main && npx tsx libs/media/bench/write-film-look.ts */
import { generateLut } from '../src/index';

await generateLut({ size: 33, outPath: 'assets/color/film-look.cube' });
