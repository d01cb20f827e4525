// Copies the SMART app's static files next to the compiled service (dist/smart/static), so `npm run build` gives a
// runnable production build.
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/smart/static', { recursive: true, force: true });
cpSync('src/smart/static', 'dist/smart/static', { recursive: true });
