// Copies the browser pages' static files next to the compiled service (the SMART app's to dist/smart/static, the
// audit log page's to dist/audit/static), so `npm run build` gives a runnable production build.
import { cpSync, rmSync } from 'node:fs';

for (const part of ['smart', 'audit']) {
  rmSync(`dist/${part}/static`, { recursive: true, force: true });
  cpSync(`src/${part}/static`, `dist/${part}/static`, { recursive: true });
}
