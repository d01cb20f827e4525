// The service's HTTP shell for `npm run bench`: the production build's own application (express, CORS,
// authentication, rate limit, body parsing, request parsing and data assembly, wire JSON, request log) with the
// evaluation (rule packs and cards) replaced by the first answer it gave. Run against the same body as the
// service, it shows what the shell alone costs, and so how much of the gap to the bare server evaluation is.
import { buildApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';
import { loadPipeline } from '../../dist/pipeline.js';

const config = loadConfig(process.env);
const evaluator = loadPipeline(config).pipeline.evaluate;
let first;
const built = buildApp(config, { evaluate: (input) => (first ??= evaluator(input)) });
const server = built.app.listen(config.port, config.host, () => built.parts.log.info({ port: config.port }, 'listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
