// The fan-out baseline: a bare socket.io server on the same machine doing the same job as Parley's fan-out
// figure: every POST /api/v1/emit broadcasts the given payload (Parley's own MESSAGE_CREATE `d`) to one room,
// one broadcast per HTTP request, as Parley fans out one message per POST.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const payload = JSON.parse(process.env.PAYLOAD ?? '{}');
let s = 0;
const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/api/v1/noop') {
    req.resume();
    req.on('end', () => res.end('{}'));
    return;
  }
  if (req.method === 'POST' && req.url === '/api/v1/emit') {
    req.resume();
    req.on('end', () => {
      io.to('room').emit('MESSAGE_CREATE', { s: ++s, d: payload });
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false });
io.on('connection', (socket) => void socket.join('room'));
http.listen(0, '127.0.0.1', () => process.send?.({ port: http.address().port }));
