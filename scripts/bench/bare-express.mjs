/** The throughput baseline of SPEC §12: an Express 5 app that only parses the same JSON and answers 200. Prints its port. */

import express from 'express';

const app = express();
app.disable('x-powered-by');
app.post('/api/v1/alerts', express.json({ limit: '1mb' }), (_req, res) => {
  res.sendStatus(200);
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
