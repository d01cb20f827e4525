// The bare baseline for `npm run bench`: node:http that reads the same request body, parses the JSON and answers a
// response of the same size as the service's for that scenario, without evaluating anything.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const responses = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = responses[req.url.slice(1)] ?? '{"cards":[]}';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(process.argv[3]), '127.0.0.1', () => process.stdout.write('ready\n'));
